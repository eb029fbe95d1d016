import { describe, expect, it } from "vitest";
import { CsvRecord, CsvSyntaxError, CsvTokenizer, MAX_RECORD_BYTES, type CsvSink } from "../../src/csv/grammar.js";
import { chunked, generatedCsv, seeded } from "../support/generated-csv.js";

const bytes = (text: string) => new TextEncoder().encode(text);

type Read = { names: string[]; records: string[][]; lines: number[] } | string;

/**
 * What the tokenizer makes of `chunks`: the header's names and the rows' fields (with the line each starts on), or
 * the error it throws. Read twice, record by record and with plain lines taken whole (see CsvSink.plainRow): the two
 * must agree.
 */
function read(chunks: Uint8Array[]): Read {
  const byRecords = readWith(chunks, false);
  const withPlainRows = readWith(chunks, true);
  const withoutLines = (answer: Read) => (typeof answer === "string" ? answer : { names: answer.names, records: answer.records });
  expect(withoutLines(withPlainRows)).toEqual(withoutLines(byRecords));
  return byRecords;
}

function readWith(chunks: Uint8Array[], plainRows: boolean): Read {
  const result = { names: [] as string[], records: [] as string[][], lines: [] as number[] };
  const sink: CsvSink = {
    header: (names) => void (result.names = names),
    row: (record: CsvRecord) => {
      result.records.push(record.texts());
      result.lines.push(record.line);
    },
  };
  const plain = new CsvRecord();
  if (plainRows) {
    sink.plainRow = (bytes, from, end) => {
      if (!plain.splitPlain(bytes, from, end, result.names.length)) return false;
      result.records.push(plain.texts());
      return true;
    };
  }
  const tokenizer = new CsvTokenizer(sink);
  try {
    for (const chunk of chunks) tokenizer.push(chunk);
    tokenizer.end();
  } catch (error) {
    if (error instanceof CsvSyntaxError) return error.message;
    throw error;
  }
  return result;
}

/** Every way of cutting `text` in two, and in pieces of 1 to 7 bytes. */
function cuts(text: string): Uint8Array[][] {
  const whole = bytes(text);
  const ways: Uint8Array[][] = [];
  for (let at = 0; at <= whole.length; at++) ways.push([whole.subarray(0, at), whole.subarray(at)]);
  for (let size = 1; size <= 7; size++) ways.push(chunked(whole, size));
  return ways;
}

describe("the CSV grammar", () => {
  it.each([
    ["a plain CSV", "timestamp,a\n1,2\n3,4\n", [["1", "2"], ["3", "4"]]],
    ["CRLF", "timestamp,a\r\n1,2\r\n3,4\r\n", [["1", "2"], ["3", "4"]]],
    ["LF and CRLF mixed", "timestamp,a\n1,2\r\n3,4\n", [["1", "2"], ["3", "4"]]],
    ["no final newline", "timestamp,a\n1,2\n3,4", [["1", "2"], ["3", "4"]]],
    ["a BOM", "\uFEFFtimestamp,a\n1,2\n", [["1", "2"]]],
    ["blank lines, LF and CRLF", "timestamp,a\n\n1,2\r\n\r\n\n3,4\n\n", [["1", "2"], ["3", "4"]]],
    ["empty fields", "timestamp,a,b\n1,,\n,,\n", [["1", "", ""], ["", "", ""]]],
    ["quoted fields", 'timestamp,a\n"1","x"\n', [["1", "x"]]],
    ["doubled quotes", 'timestamp,a\n1,"he said ""hi"""\n1,""""\n', [["1", 'he said "hi"'], ["1", '"']]],
    ["quoted commas", 'timestamp,a\n1,"a,b"\n', [["1", "a,b"]]],
    ["quoted line breaks", 'timestamp,a\n1,"two\nlines"\n2,"crlf\r\ninside"\r\n', [["1", "two\nlines"], ["2", "crlf\r\ninside"]]],
    ["a CR inside quotes", 'timestamp,a\n1,"a\rb"\n', [["1", "a\rb"]]],
    ["a quoted empty field", 'timestamp,a\n1,""\n', [["1", ""]]],
    ["a quoted last field without a final newline", 'timestamp,a\n1,"x"', [["1", "x"]]],
    ["a trailing comma without a final newline", "timestamp,a\n1,", [["1", ""]]],
    ["spaces, kept", "timestamp, a\n 1 ,2 \n", [[" 1 ", "2 "]]],
    ["UTF-8", "timestamp,a\n1,é😀\n1,\"€,x\"\n", [["1", "é😀"], ["1", "€,x"]]],
    ["a header only", "timestamp,a\n", []],
    ["a header without a newline", "timestamp,a", []],
  ])("reads %s", (_, text, records) => {
    for (const chunks of cuts(text)) expect(read(chunks)).toMatchObject({ records });
  });

  it.each([
    ["a quote inside an unquoted field", 'timestamp,a,b\n2021-01-01 00:00:00,1"2,3\n', 'CSV line 2 has a quote inside unquoted field 2'],
    ["a quote ending an unquoted field", 'timestamp,a\n1,2"\n', "CSV line 2 has a quote inside unquoted field 2"],
    ["text after a closing quote", 'timestamp,a\n1,2\n1,"a"b\n', "CSV line 3 has text after the closing quote of field 2"],
    ["a space after a closing quote", 'timestamp,a\n1,"a" \n', "CSV line 2 has text after the closing quote of field 2"],
    ["a lone CR", "timestamp,a\n1,2\r3,4\n", "CSV line 2 has a CR that does not end the line"],
    ["a CR inside an unquoted field", "timestamp,a\n1,2\n1,a\rb\n", "CSV line 3 has a CR that does not end the line"],
    ["a CR at the end", "timestamp,a\n1,2\r", "CSV line 2 has a CR that does not end the line"],
    ["a lone CR on a blank line", "timestamp,a\n\r1,2\n", "CSV line 2 has a CR that does not end the line"],
    ["an unterminated quote", 'timestamp,a\n1,"2\n3,4\n', "CSV line 2 has an unterminated quoted field"],
    ["a short record", "timestamp,a,b\n1,2,3\n1,2\n", "CSV line 3 has 2 fields, the header has 3"],
    ["a long record", "timestamp,a\n1,2,3\n", "CSV line 2 has 3 fields, the header has 2"],
    ["a record after a quoted line break, counted by its lines", 'timestamp,a\n1,"x\ny"\n1\n', "CSV line 4 has 1 fields, the header has 2"],
    ["a column named twice", "timestamp,a,a\n", "CSV header names a column twice"],
    ["no timestamp column", "open,close\n1,2\n", "must contain a 'timestamp' column"],
    ["a name only trimmed to timestamp", " timestamp,a\n1,2\n", "must contain a 'timestamp' column"],
    ["a __proto__ column", "timestamp,__proto__\n1,2\n", "may not name a column '__proto__'"],
    ["an empty header", ",\n1,2\n", "CSV has no header row"],
    ["blank lines only", "\n\r\n\n", "CSV has no header row"],
    ["nothing", "", "CSV is empty"],
    ["a BOM only", "\uFEFF", "CSV is empty"],
  ])("refuses %s, naming the line", (_, text, message) => {
    for (const chunks of cuts(text)) {
      const answer = read(chunks);
      expect(typeof answer === "string" && answer).toContain(message);
    }
  });

  it("reads bad UTF-8 as U+FFFD, the same however the CSV is cut and whichever way its lines are read", () => {
    const whole = Buffer.concat([Buffer.from("timestamp,a\n1,x"), Buffer.from([0xff, 0xc3]), Buffer.from('\n2,"'), Buffer.from([0xe2, 0x82]), Buffer.from('"\n')]);
    const expected = { records: [["1", "x\uFFFD\uFFFD"], ["2", "\uFFFD"]] };
    for (let size = 1; size <= whole.length; size++) expect(read(chunked(whole, size))).toMatchObject(expected);
  });

  it("refuses a record longer than MAX_RECORD_BYTES however it is cut, and reads one just within", () => {
    const x = (length: number) => "x".repeat(length);
    const within = [`1,${x(MAX_RECORD_BYTES - 2)}\n`, `1,${x(MAX_RECORD_BYTES - 2)}\r\n`, `1,"${x(MAX_RECORD_BYTES - 4)}"\r\n`, `1,${x(MAX_RECORD_BYTES - 2)}`];
    const over = [`1,${x(MAX_RECORD_BYTES - 1)}\n`, `1,${x(MAX_RECORD_BYTES - 1)}\r\n`, `1,"${x(MAX_RECORD_BYTES - 3)}"\n`, `1,"${x(MAX_RECORD_BYTES)}`];
    // Cut anywhere near the record's end, where what is carried may or may not hold its line end.
    const end = 12 + MAX_RECORD_BYTES;
    for (const size of [65_536, 1_000_003, 4 * MAX_RECORD_BYTES, end - 1, end, end + 1, end + 2]) {
      for (const record of within) expect(read(chunked(bytes(`timestamp,a\n${record}`), size))).toMatchObject({ records: [expect.any(Array)] });
      for (const record of over) expect(read(chunked(bytes(`timestamp,a\n${record}`), size))).toBe("CSV line 2 is longer than 1 MiB");
    }
  });

  it("reads every generated CSV to the fields it was written with, however it is cut, each row with its line", () => {
    for (let seed = 1; seed <= 600; seed++) {
      const csv = generatedCsv(seed);
      const whole = bytes(csv.text);
      const expected = { names: csv.names, records: csv.records, lines: csv.lines };
      expect({ seed, answer: read([whole]) }).toMatchObject({ seed, answer: expected });
      const { next } = seeded(seed);
      for (let cut = 0; cut < 4; cut++) {
        const size = 1 + Math.floor(next() * 40);
        expect({ seed, size, answer: read(chunked(whole, size)) }).toMatchObject({ seed, size, answer: expected });
      }
    }
  });

  it("refuses every generated CSV with one fault in it, at the faulty record's line, however it is cut", () => {
    const faults = [
      { fault: "1\"2", problem: "has a quote inside unquoted field" },
      { fault: '"a"b', problem: "has text after the closing quote" },
      { fault: "a\rb", problem: "has a CR that does not end the line" },
    ];
    let checked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const csv = generatedCsv(seed, { lineEnds: "lf", quoted: false });
      if (csv.records.length === 0) continue;
      const { next, pick } = seeded(seed);
      const { fault, problem } = pick(faults);
      const lines = csv.text.split("\n");
      const dataLines = lines.map((line, at) => ({ line, at })).filter(({ line, at }) => at > 0 && line !== "" && line !== "\uFEFF");
      const target = pick(dataLines);
      const fields = target.line.split(",");
      fields[Math.floor(next() * fields.length)] = fault;
      lines[target.at] = fields.join(",");
      const text = lines.join("\n");
      for (const size of [text.length + 1, 1 + Math.floor(next() * 30)]) {
        const answer = read(chunked(bytes(text), size));
        const atItsLine = typeof answer === "string" && answer.startsWith(`CSV line ${target.at + 1} ${problem}`);
        expect({ seed, answer: atItsLine ? "refused at its line" : answer }).toEqual({ seed, answer: "refused at its line" });
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  });
});
