import { describe, expect, it } from "vitest";
import { createCsvInspector, csvToRows, inspectCsv, MAX_COLUMNS, rowsToCsv } from "../../src/csv/check.js";
import { formatTimestamp, parseTimestamp } from "../../src/time.js";
import { InvalidBodyError } from "../../src/errors.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const HEADER = "timestamp,open,close\n";

describe("inspectCsv", () => {
  it("counts data rows and reads the header", () => {
    expect(inspectCsv(bytes(`${HEADER}2021-10-22 23:03:00,1,2\n2021-10-22 23:04:00,3,4\n`))).toEqual({
      columns: ["timestamp", "open", "close"],
      rows: 2,
    });
  });

  it("accepts CRLF, a missing final newline, blank lines, quoted fields and a BOM", () => {
    const text = `\uFEFFtimestamp,note\r\n"2021-10-22 23:03:00","a, ""b"" and\nc"\r\n\r\n1634943780000,x`;
    expect(inspectCsv(bytes(text))).toEqual({ columns: ["timestamp", "note"], rows: 2 });
  });

  it("gives the same answer however the bytes are chunked", () => {
    const text = bytes(`${HEADER}"2021-10-22 23:03:00",1,"2,5"\n2021-10-22 23:04:00,3,4\n`);
    for (let size = 1; size < 12; size++) {
      const inspector = createCsvInspector();
      for (let at = 0; at < text.length; at += size) inspector.push(text.subarray(at, at + size));
      expect(inspector.end()).toEqual({ columns: ["timestamp", "open", "close"], rows: 2 });
    }
  });

  it.each([
    ["", "CSV is empty"],
    ["open,close\n1,2\n", "must contain a 'timestamp' column"],
    ["timestamp,open,open\n", "names a column twice"],
    [`${HEADER}2021-10-22 23:03:00,1\n`, "line 2 has 2 fields, the header has 3"],
    [`${HEADER}2021-10-22 23:03:00,1,2\n2021-10-22 23:04:00,1,2,3\n`, "line 3 has 4 fields"],
    [`${HEADER}not a date,1,2\n`, "timestamp \"not a date\" is not a date"],
    [`${HEADER}"2021-10-22 23:03:00,1,2\n`, "unterminated quoted field"],
    [`${HEADER}2021-10-22 23:03:00,1"2,3\n`, "CSV line 2 has a quote inside unquoted field 2"],
    [`${HEADER}2021-10-22 23:03:00,"1"2,3\n`, "CSV line 2 has text after the closing quote of field 2"],
    [`${HEADER}2021-10-22 23:03:00,1,2\r2021-10-22 23:04:00,1,2\n`, "CSV line 2 has a CR that does not end the line"],
    [`${HEADER}"2021-10-22 ""23:03:00",1,2\n`, "timestamp \"2021-10-22 \\\"23:03:00\" is not a date"],
    [`${HEADER}${"1".repeat(65)},1,2\n`, "is not a date"],
  ])("refuses %j", (text, message) => {
    expect(() => inspectCsv(bytes(text))).toThrow(InvalidBodyError);
    expect(() => inspectCsv(bytes(text))).toThrow(message);
  });

  it("allows a header with no rows", () => {
    expect(inspectCsv(bytes(HEADER)).rows).toBe(0);
  });

  it(`accepts ${MAX_COLUMNS} columns and refuses more, whatever the rows`, () => {
    const csv = (columns: number) => {
      const names = ["timestamp", ...Array.from({ length: columns - 1 }, (_, i) => `c${i}`)];
      return bytes(`${names.join(",")}\n2021-10-22 23:03:00${",1".repeat(columns - 1)}\n`);
    };
    expect(inspectCsv(csv(MAX_COLUMNS))).toMatchObject({ rows: 1 });
    expect(() => inspectCsv(csv(MAX_COLUMNS + 1))).toThrow(`CSV header has ${MAX_COLUMNS + 1} columns; at most ${MAX_COLUMNS} are accepted`);
    expect(() => inspectCsv(csv(10_000))).toThrow(InvalidBodyError);
  });
});

describe("timestamps", () => {
  it("reads the original's form as UTC, ISO forms and epoch milliseconds", () => {
    const ms = Date.UTC(2021, 9, 22, 23, 3);
    expect(parseTimestamp("2021-10-22 23:03:00")).toBe(ms);
    expect(parseTimestamp("2021-10-22T23:03:00Z")).toBe(ms);
    expect(parseTimestamp("2021-10-23T01:03:00+02:00")).toBe(ms);
    expect(parseTimestamp(String(ms))).toBe(ms);
    expect(parseTimestamp("22/10/2021")).toBeNull();
  });

  it("writes the original's form", () => {
    expect(formatTimestamp(Date.UTC(2021, 9, 22, 23, 3))).toBe("2021-10-22 23:03:00");
    expect(formatTimestamp(Date.UTC(2021, 9, 22, 23, 3, 0, 5))).toBe("2021-10-22 23:03:00.005");
  });
});

describe("rows", () => {
  it("parses timestamps to ISO-8601 UTC and numbers to numbers", () => {
    const rows = csvToRows("timestamp,open,trades,ignore\n2021-10-22 23:03:00,60685.22,617,0\n");
    expect(rows).toEqual([{ timestamp: "2021-10-22T23:03:00.000Z", open: 60685.22, trades: 617, ignore: 0 }]);
  });

  it("turns JSON rows into the original's CSV and back", () => {
    const csv = rowsToCsv([
      { timestamp: 1634943780000, open: 1.5, close: 2 },
      { timestamp: "2021-10-22T23:04:00Z", open: 3, close: 4 },
    ]);
    expect(csv).toBe("timestamp,open,close\n2021-10-22 23:03:00,1.5,2\n2021-10-22 23:04:00,3,4\n");
    expect(csvToRows(csv)[1]).toEqual({ timestamp: "2021-10-22T23:04:00.000Z", open: 3, close: 4 });
  });

  it("writes JSON rows with commas, quotes, CRs and line breaks as a CSV the grammar reads back to the same values", () => {
    const notes = ["a,b", 'he said "hi"', "cr\rinside", "two\nlines", "crlf\r\n", " padded ", "", "1\"2"];
    const csv = rowsToCsv(notes.map((note, i) => ({ timestamp: 1634943780000 + i * 60_000, note })));
    expect(inspectCsv(bytes(csv)).rows).toBe(notes.length);
    expect(csvToRows(csv).map((row) => row.note)).toEqual(notes.map((note) => (note === "" ? null : note)));
  });

  it.each([
    [{}, "must be an array"],
    [[], "has no rows"],
    [[{ open: 1 }], "'timestamp' key"],
    [[{ timestamp: 1, open: 1 }, { timestamp: 2 }], "row 1 does not have the same keys"],
    [[{ timestamp: 1, open: 1 }, { timestamp: 2, close: 1 }], "row 1 does not have the same keys"],
    [[{ timestamp: "soon", open: 1 }], "row 0: timestamp is not a date"],
    [[{ timestamp: 1, open: { nested: true } }], "not an object of scalar values"],
    [[5], "not an object of scalar values"],
  ])("refuses JSON body %j", (body, message) => {
    expect(() => rowsToCsv(body)).toThrow(message);
  });
});
