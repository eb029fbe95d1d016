import { describe, expect, it } from "vitest";
import { csvToRows } from "../../src/cache/csv.js";
import { csvToJsonRows, NotPlainCsvError, plainJsonRowsOf } from "../../src/cache/json-rows.js";
import { klinesCsv, readFixture } from "../support/fixtures.js";

const bytes = (text: string) => new TextEncoder().encode(text);

/** What the fast writer must reproduce exactly: csvToRows, then JSON.stringify. */
function reference(csv: Uint8Array): { json: string; rows: number } {
  const rows = csvToRows(new TextDecoder().decode(csv));
  return { json: JSON.stringify(rows), rows: rows.length };
}

function written(chunks: Uint8Array[]): { json: string; rows: number } {
  const answer = csvToJsonRows(chunks);
  const json = Buffer.concat(answer.chunks).toString("utf8");
  expect(answer.sizeBytes).toBe(Buffer.byteLength(json));
  return { json, rows: answer.rows };
}

/** `csv` cut into pieces at every `size` bytes. */
function chunked(csv: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < csv.length; at += size) chunks.push(csv.subarray(at, at + size));
  return chunks;
}

/** Cells that sit on the edges of papaparse's typing and of how JS prints numbers. */
const CELLS = [
  "0", "-0", "0.0", "-0.000", "00", "007", "5.", ".5", "-.5", "1e5", "1E-7", "+5", " 5", "5 ", "12.50", "60685.22000000",
  "1313200.01340410", "0.000001", "0.0000010", "0.0000001", "-0.000001", "123456789012345", "1234567890123456",
  "12345678901234.5", "1234567890123.45", "0.123456789012345", "0.1234567890123456", "9007199254740991",
  "9007199254740993", "-9007199254740991", "1e400", "0x10", "NaN", "Infinity", "true", "TRUE", "True", "false",
  "FALSE", "", "abc", "a b", "\\", "é", "€uro", "😀", "\u0001", "2021-10-22T23:03:00Z", "2021-10-22T23:03:00.5+02:00",
  "2021-13-45T99:99:99Z", "2021-10-22", "null", "-", ".", "-.", "1.2.3", "1-2",
];
const TIMESTAMPS = [
  "2021-10-22 23:03:00", "2021-10-22 23:04:00", "2021-10-22 23:59:59", "2021-10-23 00:00:00", "2021-10-22 24:00:00",
  "2021-02-29 00:00:00", "2021-02-30 12:00:00", "2020-02-29 00:00:00", "2021-10-22 23:03:00.005", "2021-10-22T23:03:00Z",
  "2021-10-22T23:03:00.000Z", "2021-10-22 23:03", "1634943780000", "1634943780000.5", "1e12", "", "soon", "true",
  "2021-10-22 23:3:00", "2021-1-22 23:03:00", "２０２１-10-22 23:03:00",
];

/** The `seed`-th of many CSVs mixing those cells: a small linear congruential walk picks shapes and cells. */
function mixedCsv(seed: number): string {
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const columns = 1 + Math.floor(next() * 5);
  const names = ["timestamp", ...["open", "high", "low", "close", "volume"].slice(0, columns)];
  if (next() < 0.2) names.reverse();
  const lines = [names.join(",")];
  const rows = Math.floor(next() * 30);
  for (let row = 0; row < rows; row++) {
    if (next() < 0.05) lines.push("");
    lines.push(names.map((name) => (name === "timestamp" ? pick(TIMESTAMPS) : pick(CELLS))).join(","));
  }
  return lines.join("\n") + (next() < 0.7 ? "\n" : "");
}

describe("csvToJsonRows", () => {
  it("writes exactly JSON.stringify(csvToRows(text)) for the original service's CSVs", () => {
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

  it.each([
    ["a BOM", "\uFEFFtimestamp,open\n2021-10-22 23:03:00,1\n"],
    ["CRLF", "timestamp,open\r\n2021-10-22 23:03:00,1\r\n"],
    ["quoted fields", 'timestamp,note\n2021-10-22 23:03:00,"a, b"\n'],
    ["a short row", "timestamp,open,close\n2021-10-22 23:03:00,1\n"],
    ["a long row", "timestamp,open\n2021-10-22 23:03:00,1,2\n"],
    ["a column named twice", "timestamp,open,open\n2021-10-22 23:03:00,1,2\n"],
    ["an index-like column name", "timestamp,1,open\n2021-10-22 23:03:00,1,2\n"],
    ["a __proto__ column", "timestamp,__proto__\n2021-10-22 23:03:00,1\n"],
    ["no timestamp column", "open,close\n1,2\n"],
    ["semicolons early on", "timestamp,open\n2021-10-22 23:03:00,a;b\n"],
    ["a tab early on", "timestamp,open\n2021-10-22 23:03:00,a\tb\n"],
    ["a header only", "timestamp,open\n"],
    ["blank lines", "timestamp,open\n\n2021-10-22 23:03:00,1\n\n\n2021-10-22 23:04:00,2"],
    ["a single column", "timestamp\n2021-10-22 23:03:00\n"],
    ["nothing", ""],
    ["invalid UTF-8", "timestamp,open\n2021-10-22 23:03:00,\xff\n"],
  ])("writes the same for %s", (_, text) => {
    const csv = text.includes("\xff") ? Buffer.from(text, "latin1") : bytes(text);
    expect(written([csv])).toEqual(reference(csv));
  });
});

/** The streaming writer's output for `chunks`, or the error it ends with. */
async function streamed(chunks: Uint8Array[], rows: number): Promise<{ json: string; rows: number } | Error> {
  async function* source() {
    yield* chunks;
  }
  const out: Uint8Array[] = [];
  try {
    for await (const chunk of plainJsonRowsOf(source(), rows)) out.push(chunk);
  } catch (error) {
    return error as Error;
  }
  return { json: Buffer.concat(out).toString("utf8"), rows };
}

describe("plainJsonRowsOf", () => {
  it("streams exactly what csvToJsonRows writes, for any cut of the bytes, a megabyte chunk at a time", async () => {
    const csv = bytes(klinesCsv(20_000));
    const expected = reference(csv);
    for (const size of [1000, 65_536, 1 << 20, csv.length]) expect(await streamed(chunked(csv, size), expected.rows)).toEqual(expected);
    let outputs = 0;
    async function* source() {
      yield* chunked(csv, 65_536);
    }
    for await (const chunk of plainJsonRowsOf(source(), expected.rows)) {
      expect(chunk.length).toBeLessThanOrEqual(1 << 20);
      outputs++;
    }
    expect(outputs).toBeGreaterThan(2);
  });

  it("writes the same as the reference for many CSVs of edge-case cells, or refuses them, never anything else", async () => {
    let written = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const csv = bytes(mixedCsv(seed));
      const expected = reference(csv);
      const answer = await streamed(chunked(csv, 1 + (seed % 17)), expected.rows);
      if (answer instanceof Error) {
        expect(answer).toBeInstanceOf(NotPlainCsvError);
        continue;
      }
      expect({ seed, ...answer }).toEqual({ seed, ...expected });
      written++;
    }
    expect(written).toBeGreaterThan(300);
  });

  it.each([
    ["CRLF", "timestamp,open\r\n2021-10-22 23:03:00,1\r\n"],
    ["quoted fields", 'timestamp,note\n2021-10-22 23:03:00,"a, b"\n'],
    ["a column named twice", "timestamp,open,open\n2021-10-22 23:03:00,1,2\n"],
    ["semicolons early on", "timestamp,open\n2021-10-22 23:03:00,a;b\n"],
    ["nothing", ""],
  ])("refuses %s, which only the slow path writes", async (_, text) => {
    expect(await streamed([bytes(text)], 1)).toBeInstanceOf(NotPlainCsvError);
  });

  it("refuses a CSV whose rows are not the meta's", async () => {
    expect(await streamed([bytes(klinesCsv(3))], 4)).toBeInstanceOf(NotPlainCsvError);
  });
});
