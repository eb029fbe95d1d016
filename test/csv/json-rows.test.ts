import { describe, expect, it } from "vitest";
import { CsvSyntaxError } from "../../src/csv/grammar.js";
import { csvToRows } from "../../src/csv/check.js";
import { csvToJsonRows, jsonRowsOf, RowCountError } from "../../src/csv/json-rows.js";
import { klinesCsv, readFixture } from "../support/fixtures.js";
import { chunked, EDGE_CELLS, generatedCsv, seeded, TIMESTAMPS } from "../support/generated-csv.js";
import { papaparseRows } from "../support/papaparse-rows.js";

const bytes = (text: string) => new TextEncoder().encode(text);

/**
 * What the writer must reproduce exactly: the rows papaparse made of the CSV before the service read CSVs by a
 * grammar of its own, then JSON.stringify; csvToRows, the rows by the grammar, must be those very rows too.
 */
function reference(csv: Uint8Array): { json: string; rows: number } {
  const text = new TextDecoder().decode(csv);
  const rows = papaparseRows(text);
  expect(csvToRows(text)).toEqual(rows);
  return { json: JSON.stringify(rows), rows: rows.length };
}

function written(chunks: Uint8Array[]): { json: string; rows: number } {
  const answer = csvToJsonRows(chunks);
  const json = Buffer.concat(answer.chunks).toString("utf8");
  expect(answer.sizeBytes).toBe(Buffer.byteLength(json));
  return { json, rows: answer.rows };
}

/** The `seed`-th of many plain CSVs of edge-case cells. */
function mixedCsv(seed: number): string {
  const { next, pick } = seeded(seed);
  const columns = 1 + Math.floor(next() * 5);
  const names = ["timestamp", ...["open", "high", "low", "close", "volume"].slice(0, columns)];
  if (next() < 0.2) names.reverse();
  const lines = [names.join(",")];
  const rows = Math.floor(next() * 30);
  for (let row = 0; row < rows; row++) {
    if (next() < 0.05) lines.push("");
    lines.push(names.map((name) => (name === "timestamp" ? pick(TIMESTAMPS) : pick(EDGE_CELLS))).join(","));
  }
  return lines.join("\n") + (next() < 0.7 ? "\n" : "");
}

describe("csvToJsonRows", () => {
  it("writes exactly the rows papaparse read of the original service's CSVs", () => {
    for (const name of ["0b0670744f42d25b998f5b2e646d6467.csv", "751b788d74a40e8597a5dab694257c51.csv"]) {
      const csv = new Uint8Array(readFixture("tradebot-cache", name));
      expect(written([csv])).toEqual(reference(csv));
    }
  });

  it("writes the same for any cut of the bytes into chunks", () => {
    const csv = bytes(klinesCsv(40));
    const expected = reference(csv);
    for (const size of [1, 2, 3, 7, 64, 1000, csv.length]) expect(written(chunked(csv, size))).toEqual(expected);
  });

  it("writes the same for many CSVs of edge-case cells", () => {
    for (let seed = 1; seed <= 400; seed++) {
      const csv = bytes(mixedCsv(seed));
      const expected = reference(csv);
      expect({ seed, ...written([csv]) }).toEqual({ seed, ...expected });
      expect({ seed, ...written(chunked(csv, 1 + (seed % 17))) }).toEqual({ seed, ...expected });
    }
  });

  it("writes the same for many CSVs of every shape the grammar reads: quoted fields, CRLF, BOM, odd names", () => {
    let compared = 0;
    for (let seed = 1; seed <= 600; seed++) {
      // papaparse guesses one line end for a whole CSV, and skips a lone `""` as if it were a blank line: for those
      // it cannot read right, the reference is the rows by the grammar (csvToRows).
      const csv = generatedCsv(seed, { lineEnds: seed % 2 === 0 ? "lf" : "crlf" });
      const papaparseReadsIt = !(csv.names.length === 1 && csv.records.some((record) => record[0] === ""));
      const whole = bytes(csv.text);
      const expected = papaparseReadsIt ? reference(whole) : { json: JSON.stringify(csvToRows(csv.text)), rows: csv.records.length };
      expect({ seed, ...written([whole]) }).toEqual({ seed, ...expected });
      expect({ seed, ...written(chunked(whole, 1 + (seed % 23))) }).toEqual({ seed, ...expected });
      if (papaparseReadsIt) compared++;
    }
    expect(compared).toBeGreaterThan(500);
  });

  it("writes what csvToRows reads of CSVs with both line ends", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const csv = generatedCsv(seed, { lineEnds: "mixed" });
      expect({ seed, ...written([bytes(csv.text)]) }).toEqual({ seed, json: JSON.stringify(csvToRows(csv.text)), rows: csv.records.length });
    }
  });

  it.each([
    ["a BOM", "\uFEFFtimestamp,open\n2021-10-22 23:03:00,1\n"],
    ["CRLF", "timestamp,open\r\n2021-10-22 23:03:00,1\r\n"],
    ["quoted fields", 'timestamp,note\n2021-10-22 23:03:00,"a, b"\n'],
    ["a quoted timestamp and numbers", 'timestamp,open\n"2021-10-22 23:03:00","1.50"\n"2021-10-22 23:04:00","""2"""\n'],
    ["index-like column names", "timestamp,1,open,0\n2021-10-22 23:03:00,1,2,3\n"],
    ["an empty column name", ",timestamp,open\n0,2021-10-22 23:03:00,1\n"],
    ["semicolons early on", "timestamp,open\n2021-10-22 23:03:00,a;b\n"],
    ["a tab early on", "timestamp,open\n2021-10-22 23:03:00,a\tb\n"],
    ["a header only", "timestamp,open\n"],
    ["blank lines", "timestamp,open\n\n2021-10-22 23:03:00,1\n\n\n2021-10-22 23:04:00,2"],
    ["a single column", "timestamp\n2021-10-22 23:03:00\n"],
    ["invalid UTF-8", "timestamp,open\n2021-10-22 23:03:00,\xff\n"],
  ])("writes the same for %s", (_, text) => {
    const csv = text.includes("\xff") ? Buffer.from(text, "latin1") : bytes(text);
    expect(written([csv])).toEqual(reference(csv));
  });

  it.each([
    ["a short row", "timestamp,open,close\n2021-10-22 23:03:00,1\n"],
    ["a long row", "timestamp,open\n2021-10-22 23:03:00,1,2\n"],
    ["a column named twice", "timestamp,open,open\n2021-10-22 23:03:00,1,2\n"],
    ["a __proto__ column", "timestamp,__proto__\n2021-10-22 23:03:00,1\n"],
    ["no timestamp column", "open,close\n1,2\n"],
    ["a quote inside a field", 'timestamp,open\n2021-10-22 23:03:00,1"2\n'],
    ["nothing", ""],
  ])("refuses %s, as the grammar does", (_, text) => {
    expect(() => csvToJsonRows([bytes(text)])).toThrow(CsvSyntaxError);
  });
});

/** The streaming writer's output for `chunks`, or the error it ends with. */
async function streamed(chunks: Uint8Array[], rows: number): Promise<{ json: string; rows: number } | Error> {
  async function* source() {
    yield* chunks;
  }
  const out: Uint8Array[] = [];
  try {
    for await (const chunk of jsonRowsOf(source(), rows)) out.push(chunk);
  } catch (error) {
    return error as Error;
  }
  return { json: Buffer.concat(out).toString("utf8"), rows };
}

describe("jsonRowsOf", () => {
  it("streams exactly what csvToJsonRows writes, for any cut of the bytes, 64 KB at a time", async () => {
    const csv = bytes(klinesCsv(20_000));
    const expected = reference(csv);
    for (const size of [1000, 65_536, 1 << 20, csv.length]) expect(await streamed(chunked(csv, size), expected.rows)).toEqual(expected);
    async function* whole() {
      yield csv;
    }
    let outputs = 0;
    for await (const chunk of jsonRowsOf(whole(), expected.rows)) {
      expect(chunk.length).toBeLessThanOrEqual(2 ** 16);
      outputs++;
    }
    expect(outputs).toBeGreaterThan(2);
  });

  it("streams the same as csvToJsonRows for CSVs of every shape the grammar reads", async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const whole = bytes(generatedCsv(seed).text);
      const expected = written([whole]);
      expect({ seed, answer: await streamed(chunked(whole, 1 + (seed % 17)), expected.rows) }).toEqual({ seed, answer: expected });
    }
  });

  it("ends with the grammar's error for a CSV it refuses, and with RowCountError for one whose rows are not the meta's", async () => {
    expect(await streamed([bytes('timestamp,open\n2021-10-22 23:03:00,1"2\n')], 1)).toBeInstanceOf(CsvSyntaxError);
    expect(await streamed([bytes(klinesCsv(3))], 4)).toBeInstanceOf(RowCountError);
  });
});
