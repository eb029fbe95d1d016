/** Seeded CSVs of every shape the cache's grammar accepts, with the fields they hold: oracles for the readers. */

/** Cells on the edges of papaparse's typing and of how JS prints numbers. */
export const EDGE_CELLS = [
  "0", "-0", "0.0", "-0.000", "00", "007", "5.", ".5", "-.5", "1e5", "1E-7", "+5", " 5", "5 ", "12.50", "60685.22000000",
  "1313200.01340410", "0.000001", "0.0000010", "0.0000001", "-0.000001", "123456789012345", "1234567890123456",
  "12345678901234.5", "1234567890123.45", "0.123456789012345", "0.1234567890123456", "9007199254740991",
  "9007199254740993", "-9007199254740991", "1e400", "0x10", "NaN", "Infinity", "true", "TRUE", "True", "false",
  "FALSE", "", "abc", "a b", "\\", "é", "€uro", "😀", "\u0001", "2021-10-22T23:03:00Z", "2021-10-22T23:03:00.5+02:00",
  "2021-13-45T99:99:99Z", "2021-10-22", "null", "-", ".", "-.", "1.2.3", "1-2", "a;b", "a\tb", "a|b",
];
/** Cells that must be quoted: commas, quotes, line breaks and CRs inside. */
export const QUOTED_CELLS = ['a,b', 'he said "hi"', '"', '""', "two\nlines", "cr\rinside", "crlf\r\ninside", ",", "\n", ' "x" ', "é,😀"];
/** Timestamps readable or not (the grammar does not care; the JSON rows type them). */
export const TIMESTAMPS = [
  "2021-10-22 23:03:00", "2021-10-22 23:04:00", "2021-10-22 23:59:59", "2021-10-23 00:00:00", "2021-10-22 24:00:00",
  "2021-02-29 00:00:00", "2021-02-30 12:00:00", "2020-02-29 00:00:00", "2021-10-22 23:03:00.005", "2021-10-22T23:03:00Z",
  "2021-10-22T23:03:00.000Z", "2021-10-22 23:03", "1634943780000", "1634943780000.5", "1e12", "", "soon", "true",
  "2021-10-22 23:3:00", "2021-1-22 23:03:00", "２０２１-10-22 23:03:00",
];
const NAMES = ["open", "high", "low", "close", "volume", "note", "a b", "0", "1", "7", "", "x,y", 'q"uote', "line\nbreak"];

export interface GeneratedCsv {
  text: string;
  names: string[];
  /** The data records' fields, as the grammar must read them. */
  records: string[][];
  /** The line each record starts on, from 1. */
  lines: number[];
}

export interface GenerateOptions {
  /** "lf", "crlf", or "mixed" (each line its own); by default one of the three, as the seed picks. */
  lineEnds?: "lf" | "crlf" | "mixed";
  /** Whether cells may hold quotes, commas, CRs and line breaks (so be quoted); default true. */
  quoted?: boolean;
}

/** A seeded pseudo-random walk: the same CSVs on every machine. */
export function seeded(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T };
}

/** The `seed`-th of many CSVs the grammar accepts: header names, quoting, line ends, blank lines, BOM all vary. */
export function generatedCsv(seed: number, options: GenerateOptions = {}): GeneratedCsv {
  const { next, pick } = seeded(seed);
  const quoted = options.quoted ?? true;
  const lineEnds = options.lineEnds ?? pick(["lf", "crlf", "mixed"] as const);
  const width = 1 + Math.floor(next() * 6);
  const names = ["timestamp"];
  while (names.length < width) {
    const name = pick(NAMES);
    if (!names.includes(name) && (quoted || !/[",\n]/.test(name))) names.push(name);
  }
  if (next() < 0.3) names.reverse();
  const rows = Math.floor(next() * 25);
  const records: string[][] = [];
  for (let row = 0; row < rows; row++) {
    records.push(names.map((name) => (name === "timestamp" ? pick(TIMESTAMPS) : quoted && next() < 0.2 ? pick(QUOTED_CELLS) : pick(EDGE_CELLS))));
  }
  const lineEnd = () => (lineEnds === "lf" ? "\n" : lineEnds === "crlf" ? "\r\n" : pick(["\n", "\r\n"]));
  const line = (fields: string[]) => fields.map((field) => encodeField(field, quoted && next() < 0.15, fields.length)).join(",");
  let text = next() < 0.2 ? "\uFEFF" : "";
  text += line(names);
  const lines: number[] = [];
  for (const record of records) {
    text += lineEnd();
    while (next() < 0.05) text += lineEnd();
    lines.push(text.split("\n").length);
    text += line(record);
  }
  if (next() < 0.7) text += lineEnd();
  return { text, names, records, lines };
}

/** A field as a CSV holds it: quoted when it must be (or when `quote`), its quotes doubled. */
export function encodeField(field: string, quote: boolean, width: number): string {
  // A lone empty field unquoted would be a blank line.
  const must = /[",\r\n]/.test(field) || (width === 1 && field === "");
  return must || quote ? `"${field.replaceAll('"', '""')}"` : field;
}

/** `bytes` cut into pieces of `size` bytes (the last shorter). */
export function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}
