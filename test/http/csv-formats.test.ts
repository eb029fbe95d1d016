import { tableFromIPC, type Table } from "apache-arrow";
import { parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT } from "../support/fixtures.js";

/** A cell as every form can say it: text (numbers printed by JS, times as ISO-8601 UTC), or null. */
type Cell = string | null;

const T1 = "2021-10-22T23:03:00.000Z";
const T2 = "2021-10-22T23:04:00.000Z";
const HEADER = "timestamp,open,note";

/**
 * The grammar's edge cases, each with the rows every form must answer, or the line the PUT must name when it
 * refuses the CSV.
 */
const CASES: { name: string; body: string; rows?: Cell[][]; refusedAt?: number }[] = [
  { name: "quoted fields", body: `${HEADER}\n"2021-10-22 23:03:00","1.5","x"\n`, rows: [[T1, "1.5", "x"]] },
  { name: "doubled quotes", body: `${HEADER}\n2021-10-22 23:03:00,1,"he said ""hi"""\n`, rows: [[T1, "1", 'he said "hi"']] },
  { name: "quoted commas", body: `${HEADER}\n2021-10-22 23:03:00,1,"a, b,"\n`, rows: [[T1, "1", "a, b,"]] },
  {
    name: "quoted newlines",
    body: `${HEADER}\n2021-10-22 23:03:00,1,"two\nlines"\n2021-10-22 23:04:00,2,x\n`,
    rows: [[T1, "1", "two\nlines"], [T2, "2", "x"]],
  },
  { name: "a CR inside quotes", body: `${HEADER}\n2021-10-22 23:03:00,1,"a\rb"\n`, rows: [[T1, "1", "a\rb"]] },
  {
    name: "CRLF, and a CRLF inside quotes",
    body: `${HEADER}\r\n2021-10-22 23:03:00,1,"a\r\nb"\r\n2021-10-22 23:04:00,2,x\r\n`,
    rows: [[T1, "1", "a\r\nb"], [T2, "2", "x"]],
  },
  { name: "LF and CRLF mixed", body: `${HEADER}\n2021-10-22 23:03:00,1,x\r\n2021-10-22 23:04:00,2,y\n`, rows: [[T1, "1", "x"], [T2, "2", "y"]] },
  { name: "a lone CR", body: `${HEADER}\n2021-10-22 23:03:00,1,x\r2021-10-22 23:04:00,2,y\n`, refusedAt: 2 },
  { name: "a BOM", body: `\uFEFF${HEADER}\n2021-10-22 23:03:00,1,x\n`, rows: [[T1, "1", "x"]] },
  { name: "no final newline", body: `${HEADER}\n2021-10-22 23:03:00,1,x\n2021-10-22 23:04:00,2,"y"`, rows: [[T1, "1", "x"], [T2, "2", "y"]] },
  { name: "empty fields", body: `${HEADER}\n2021-10-22 23:03:00,,\n2021-10-22 23:04:00,"",""\n`, rows: [[T1, null, null], [T2, null, null]] },
  { name: "blank lines", body: `${HEADER}\n\n2021-10-22 23:03:00,1,x\n\r\n\n2021-10-22 23:04:00,2,y\n\n`, rows: [[T1, "1", "x"], [T2, "2", "y"]] },
  { name: "the auditor's quote inside an unquoted field", body: `timestamp,a,b\n2021-01-01 00:00:00,1"2,3\n2021-01-01 00:01:00,1"2,3\n`, refusedAt: 2 },
  { name: "a quote inside an unquoted field, further down", body: `${HEADER}\n2021-10-22 23:03:00,1,x\n2021-10-22 23:04:00,2,y"\n`, refusedAt: 3 },
  { name: "text after a closing quote", body: `${HEADER}\n2021-10-22 23:03:00,1,"x"y\n`, refusedAt: 2 },
  { name: "an unterminated quote", body: `${HEADER}\n2021-10-22 23:03:00,1,x\n2021-10-22 23:04:00,2,"y\n`, refusedAt: 3 },
  { name: "a short record after a quoted line break", body: `${HEADER}\n2021-10-22 23:03:00,1,"x\ny"\n2021-10-22 23:04:00,2\n`, refusedAt: 4 },
];

const put = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });

/** A scalar of a row as text, as JS prints it. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return value.toString();
  throw new Error(`not a scalar: ${JSON.stringify(value)}`);
}

function jsonCells(rows: Record<string, unknown>[], names: string[]): Cell[][] {
  return rows.map((row) => names.map((name) => (row[name] === null ? null : text(row[name]))));
}

function arrowCells(table: Table): Cell[][] {
  const names = table.schema.fields.map((field) => field.name);
  const kinds = table.schema.fields.map((field) => String(field.type));
  return table.toArray().map((row: Record<string, unknown>) =>
    names.map((name, i) => {
      const value = row[name];
      if (value === null) return null;
      return (kinds[i] as string).startsWith("Timestamp") ? new Date(Number(value)).toISOString() : text(value);
    }),
  );
}

function parquetCells(rows: Record<string, unknown>[], names: string[]): Cell[][] {
  return rows.map((row) =>
    names.map((name) => {
      const value = row[name];
      if (value === null || value === undefined) return null;
      return value instanceof Date ? value.toISOString() : text(value);
    }),
  );
}

describe("one CSV grammar, every form", () => {
  it.each(CASES)("$name: PUT, meta, info, JSON, CSV, Arrow and Parquet agree, or the PUT names the line", async ({ body, rows, refusedAt }) => {
    const { app } = testApp();
    const stored = await app.request(dataUrl(BTC_SPOT), put(body));
    if (refusedAt !== undefined) {
      expect(stored.status).toBe(400);
      const { error } = (await stored.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("INVALID_BODY");
      expect(error.message).toMatch(new RegExp(`^CSV line ${refusedAt} `));
      expect((await app.request(dataUrl(BTC_SPOT))).status).toBe(404);
      return;
    }
    const expected = rows as Cell[][];
    expect(stored.status).toBe(201);
    const { data } = (await stored.json()) as { data: { meta: { rows: number; cache_key: string } } };
    expect(data.meta.rows).toBe(expected.length);
    const info = (await (await app.request("/api/v1/backtest/cache/info")).json()) as {
      data: { cache_entries: { cache_key: string; rows: number }[] };
    };
    expect(info.data.cache_entries.find((entry) => entry.cache_key === data.meta.cache_key)?.rows).toBe(expected.length);

    const names = body.replace(/^\uFEFF/, "").split(/\r?\n/)[0]?.split(",") as string[];
    const json = (await (await app.request(dataUrl(BTC_SPOT))).json()) as { data: { meta: { rows: number }; rows: Record<string, unknown>[] } };
    expect(json.data.meta.rows).toBe(expected.length);
    expect(jsonCells(json.data.rows, names)).toEqual(expected);

    const csv = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    expect(Buffer.from(await csv.arrayBuffer()).equals(Buffer.from(body))).toBe(true);

    const arrow = await app.request(dataUrl({ ...BTC_SPOT, format: "arrow" }));
    expect(arrow.status).toBe(200);
    expect(arrowCells(tableFromIPC(new Uint8Array(await arrow.arrayBuffer())))).toEqual(expected);

    const parquet = await app.request(dataUrl({ ...BTC_SPOT, format: "parquet" }));
    expect(parquet.status).toBe(200);
    const file = await parquet.arrayBuffer();
    expect(parquetCells(await parquetReadObjects({ file }), names)).toEqual(expected);
  });
});
