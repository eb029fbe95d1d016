/**
 * One record of a CSV as the tokenizer (tokenizer.ts) hands it over, with what every reader of the grammar
 * (grammar.ts) shares: its error, its bound on a record, its bytes.
 */

/** A record longer than this (line end left out) is refused: what a reader holds of one record is bounded. */
export const MAX_RECORD_BYTES = 2 ** 20;

/** A CSV the grammar refuses: where (the line its record starts on, from 1) and what. */
export class CsvSyntaxError extends Error {
  override name = "CsvSyntaxError";
}

export const COMMA = 0x2c;
export const QUOTE = 0x22;
export const LF = 0x0a;
export const CR = 0x0d;
export const BOM = [0xef, 0xbb, 0xbf];

/** How a field was written: unquoted, quoted, or quoted with doubled quotes inside (to be undoubled). */
export const UNQUOTED_FIELD = 0;
export const QUOTED_FIELD = 1;
export const ESCAPED_FIELD = 2;

const decoder = new TextDecoder();

/** `bytes[from, to)` as text: UTF-8, a bad sequence read as U+FFFD (the same way wherever a reader cuts its text). */
export function decodeText(bytes: Uint8Array, from: number, to: number): string {
  return decoder.decode(bytes.subarray(from, to));
}

/**
 * One record as the tokenizer hands it over, valid only during the call: field k is `bytes[start(k), end(k))`,
 * inside its quotes when it had some. Reused from record to record.
 */
export class CsvRecord {
  bytes: Uint8Array = new Uint8Array(0);
  /** `[start0, end0, start1, end1, …]`. */
  bounds = new Int32Array(64);
  /** Per field: UNQUOTED_FIELD, QUOTED_FIELD or ESCAPED_FIELD. */
  quoting = new Uint8Array(32);
  count = 0;
  /** How many of the fields were quoted. */
  quoted = 0;
  /** The line the record starts on (from 1). */
  line = 0;

  start(field: number): number {
    return this.bounds[2 * field] as number;
  }

  end(field: number): number {
    return this.bounds[2 * field + 1] as number;
  }

  /** True when field k was quoted with quotes inside it: its bytes are not its value (see text). */
  escaped(field: number): boolean {
    return this.quoting[field] === ESCAPED_FIELD;
  }

  /** Field k's value as text: decoded as UTF-8, doubled quotes undoubled. */
  text(field: number): string {
    const text = decodeText(this.bytes, this.start(field), this.end(field));
    return this.quoting[field] === ESCAPED_FIELD ? text.replaceAll('""', '"') : text;
  }

  /** Every field's value as text. */
  texts(): string[] {
    if (this.quoted === 0 && this.count > 0) {
      // No field holds a comma: the record's text split at its commas is its fields.
      return decodeText(this.bytes, this.start(0), this.end(this.count - 1)).split(",");
    }
    const texts = new Array<string>(this.count);
    for (let k = 0; k < this.count; k++) texts[k] = this.text(k);
    return texts;
  }

  /** The bytes the record's fields span: what a reader holds of it. */
  sizeBytes(): number {
    return this.count === 0 ? 0 : this.end(this.count - 1) - this.start(0);
  }

  /** Makes this record the fields of a plain line (see CsvSink.plainRow), if it has `width` of them; says whether. */
  splitPlain(bytes: Uint8Array, from: number, end: number, width: number): boolean {
    while (2 * width > this.bounds.length) this.grow();
    this.bytes = bytes;
    this.count = 0;
    this.quoted = 0;
    let start = from;
    for (let i = from; i <= end; i++) {
      if (i < end && bytes[i] !== COMMA) continue;
      if (this.count === width) return false;
      this.bounds[2 * this.count] = start;
      this.bounds[2 * this.count + 1] = i;
      this.quoting[this.count++] = UNQUOTED_FIELD;
      start = i + 1;
    }
    return this.count === width;
  }

  grow(): void {
    const bounds = new Int32Array(this.bounds.length * 2);
    bounds.set(this.bounds);
    this.bounds = bounds;
    const quoting = new Uint8Array(this.quoting.length * 2);
    quoting.set(this.quoting);
    this.quoting = quoting;
  }
}

/** What a reader does with the records: the header's names once, then each row. */
export interface CsvSink {
  header(names: string[], record: CsvRecord): void;
  row(record: CsvRecord): void;
  /**
   * For a reader that splits a plain line faster than the tokenizer would (while writing it, say): a row given as
   * the line `bytes[from, end)` of a chunk with no quote in it and no CR but before an LF (its line end left out),
   * so its fields are the bytes between its commas. Takes it as `row` would, or answers false when it does not
   * have as many fields as the header: the tokenizer then refuses the CSV.
   */
  plainRow?(bytes: Buffer, from: number, end: number): boolean;
}
