import {
  BOM,
  COMMA,
  CR,
  CsvRecord,
  CsvSyntaxError,
  ESCAPED_FIELD,
  LF,
  MAX_RECORD_BYTES,
  QUOTE,
  QUOTED_FIELD,
  UNQUOTED_FIELD,
  type CsvSink,
} from "./record.js";

/** Byte classes: 0 is a byte an unquoted field may hold. */
const ORDINARY = 0;
const IS_COMMA = 1;
const IS_LF = 2;
const IS_CR = 3;
const IS_QUOTE = 4;
const CLASS = new Uint8Array(256);
CLASS[COMMA] = IS_COMMA;
CLASS[LF] = IS_LF;
CLASS[CR] = IS_CR;
CLASS[QUOTE] = IS_QUOTE;

/** Where the scanner is between two bytes. */
const RECORD_START = 0;
const FIELD_START = 1;
const UNQUOTED = 2;
const QUOTED = 3;
/** Just past a quote inside a quoted field: a second quote, or the field's end. */
const QUOTE_SEEN = 4;
/** Just past a CR outside quotes: an LF must follow. */
const CR_SEEN = 5;
/** Just past a CR at the start of a record: a blank CRLF line, if an LF follows. */
const BLANK_CR_SEEN = 6;

/**
 * The columns a row's time may be in: `timestamp` (candles, and every entry a client stores) or `funding_time` (the
 * funding rates' partitions). A CSV has one of them; the first present is its time.
 */
export const TIME_COLUMNS = ["timestamp", "funding_time"] as const;

/** Where the row's time is among the header's names; -1 when it has none. */
export function timeColumnOf(names: readonly string[]): number {
  for (const name of TIME_COLUMNS) {
    const at = names.indexOf(name);
    if (at !== -1) return at;
  }
  return -1;
}

const LONE_CR = "has a CR that does not end the line (outside quotes, a line ends with LF or CRLF)";

/**
 * Reads a dataset CSV by the grammar (see grammar.ts), chunk by chunk as it arrives, and hands each record to `sink`: the
 * header's names first, then the rows. Throws CsvSyntaxError at the first thing the grammar refuses. A record cut
 * by a chunk boundary is joined in a buffer of its own; the others are read in place.
 *
 * A class, not closures: V8 keeps one optimized scanning loop for every tokenizer.
 */
export class CsvTokenizer {
  private readonly record = new CsvRecord();
  private state = RECORD_START;
  /** Where the current record starts and the current field starts, in record coordinates (see `shift`). */
  private recordStart = 0;
  private fieldStart = 0;
  /** Where the current quoted field's closing quote was, in record coordinates. */
  private quoteAt = 0;
  private fieldQuoting = UNQUOTED_FIELD;
  /** The bytes of a record begun in an earlier chunk, from its start. */
  private carry = new Uint8Array(0);
  private carried = 0;
  /** Added to a position in the chunk to make it a position in the record's bytes: `carried` while one is carried. */
  private shift = 0;
  private line = 1;
  /** Line breaks inside the current record's quoted fields. */
  private breaks = 0;
  private width = -1;
  /** The first bytes, held until it is known whether they are a BOM. */
  private head: number[] | null = [];
  private bytesSeen = 0;

  constructor(private readonly sink: CsvSink) {}

  push(chunk: Uint8Array): void {
    if (this.head !== null) {
      let at = 0;
      while (this.head.length < BOM.length && at < chunk.length) this.head.push(chunk[at++] as number);
      if (this.head.length < BOM.length) return;
      const head = Uint8Array.from(this.head);
      this.head = null;
      this.scan(BOM.every((byte, i) => head[i] === byte) ? head.subarray(BOM.length) : head, 0);
      chunk = chunk.subarray(at);
    }
    this.scan(chunk, 0);
  }

  /** Ends the input: the last record (a final newline is optional); throws when there was no header. */
  end(): void {
    if (this.head !== null) {
      const head = Uint8Array.from(this.head);
      this.head = null;
      this.scan(head, 0);
    }
    const end = this.carried;
    if (end - this.recordStart > MAX_RECORD_BYTES) throw this.tooLong();
    switch (this.state) {
      case RECORD_START:
        break;
      case FIELD_START:
        this.addField(end, end, UNQUOTED_FIELD);
        this.endRecord(null, 0, 0);
        break;
      case UNQUOTED:
        this.addField(this.fieldStart, end, UNQUOTED_FIELD);
        this.endRecord(null, 0, 0);
        break;
      case QUOTE_SEEN:
        this.addField(this.fieldStart, this.quoteAt, this.fieldQuoting);
        this.endRecord(null, 0, 0);
        break;
      case QUOTED:
        throw this.error("has an unterminated quoted field");
      default:
        throw this.error(LONE_CR);
    }
    if (this.width === -1) throw new CsvSyntaxError(this.bytesSeen === 0 ? "CSV is empty" : "CSV has no header row");
  }

  /**
   * Reads `chunk[from…]`. A chunk with no quote and no CR but before an LF holds lines, not quoted fields: for a
   * sink that takes plain rows, its whole lines go to it as they are, found by memchr, and only a record carried in
   * or out of the chunk is scanned.
   */
  private scan(chunk: Uint8Array, from: number): void {
    this.bytesSeen += chunk.length - from;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Inside a quoted field carried in, the chunk's line ends are the field's.
    if (this.sink.plainRow === undefined || this.state === QUOTED || !isPlainChunk(bytes)) return this.scanRecords(bytes, from);
    let at = from;
    while (this.width === -1 || this.state !== RECORD_START) {
      // The header, or a record carried in: it ends at the next line end.
      const lineEnd = bytes.indexOf(LF, at);
      if (lineEnd === -1) return this.scanRecords(bytes, at);
      this.scanRecords(bytes.subarray(0, lineEnd + 1), at);
      at = lineEnd + 1;
    }
    this.scanRecords(bytes, this.plainLines(bytes, at));
  }

  /** Hands the whole lines of a plain chunk from `from` on to the sink; returns where the last one ended. */
  private plainLines(bytes: Buffer, from: number): number {
    const sink = this.sink as Required<CsvSink>;
    let at = from;
    for (let lineEnd = bytes.indexOf(LF, at); lineEnd !== -1; lineEnd = bytes.indexOf(LF, at)) {
      const end = lineEnd > at && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      if (end - at > MAX_RECORD_BYTES) throw this.tooLong();
      if (end > at && !sink.plainRow(bytes, at, end)) {
        let fields = 1;
        for (let i = at; i < end; i++) if (bytes[i] === COMMA) fields++;
        throw this.error(`has ${fields} fields, the header has ${this.width}`);
      }
      this.line++;
      at = lineEnd + 1;
    }
    return at;
  }

  /** The scanner, over `chunk[from…]`: a state machine, byte by byte. */
  private scanRecords(chunk: Uint8Array, from: number): void {
    const n = chunk.length;
    let i = from;
    // A record not carried in starts here.
    if (this.state === RECORD_START) this.recordStart = from;
    let state = this.state;
    while (i < n) {
      if (state === RECORD_START || state === FIELD_START) {
        const byte = chunk[i] as number;
        if (byte === QUOTE) {
          this.fieldStart = i + 1 + this.shift;
          this.fieldQuoting = QUOTED_FIELD;
          state = QUOTED;
          i++;
          continue;
        }
        if (state === RECORD_START && (byte === LF || byte === CR)) {
          i++;
          if (byte === CR) state = BLANK_CR_SEEN;
          else this.blankLine(i);
          continue;
        }
        this.fieldStart = i + this.shift;
        state = UNQUOTED;
      }
      if (state === UNQUOTED) {
        // Most bytes are above a comma, and none of those ends a field: the table is looked at for the others only.
        let byte = 0;
        while (i < n && ((byte = chunk[i] as number) > COMMA || CLASS[byte] === ORDINARY)) i++;
        if (i === n) break;
        const kind = CLASS[byte] as number;
        if (kind === IS_QUOTE) {
          this.state = state;
          throw this.error(`has a quote inside unquoted field ${this.record.count + 1} (quote the field, and double the quotes in it)`);
        }
        // The field's end, written here rather than by addField: this runs for nearly every field.
        const record = this.record;
        const count = record.count;
        if (2 * count + 2 > record.bounds.length) record.grow();
        const bounds = record.bounds;
        bounds[2 * count] = this.fieldStart;
        bounds[2 * count + 1] = i + this.shift;
        record.quoting[count] = UNQUOTED_FIELD;
        record.count = count + 1;
        i++;
        if (kind === IS_COMMA) state = FIELD_START;
        else if (kind === IS_CR) state = CR_SEEN;
        else {
          this.endRecord(chunk, i, 1);
          state = RECORD_START;
        }
        continue;
      }
      if (state === QUOTED) {
        let byte: number;
        while (i < n && (byte = chunk[i] as number) !== QUOTE) {
          if (byte === LF) this.breaks++;
          i++;
        }
        if (i === n) break;
        this.quoteAt = i + this.shift;
        state = QUOTE_SEEN;
        i++;
        continue;
      }
      if (state === QUOTE_SEEN) {
        const byte = chunk[i] as number;
        if (byte === QUOTE) {
          this.fieldQuoting = ESCAPED_FIELD;
          state = QUOTED;
          i++;
          continue;
        }
        if (byte !== COMMA && byte !== LF && byte !== CR) {
          this.state = state;
          throw this.error(`has text after the closing quote of field ${this.record.count + 1}`);
        }
        this.addField(this.fieldStart, this.quoteAt, this.fieldQuoting);
        i++;
        if (byte === COMMA) state = FIELD_START;
        else if (byte === CR) state = CR_SEEN;
        else {
          this.endRecord(chunk, i, 1);
          state = RECORD_START;
        }
        continue;
      }
      // CR_SEEN or BLANK_CR_SEEN: an LF must follow.
      if (chunk[i] !== LF) {
        this.state = state;
        throw this.error(LONE_CR);
      }
      i++;
      if (state === BLANK_CR_SEEN) this.blankLine(i);
      else this.endRecord(chunk, i, 2);
      state = RECORD_START;
    }
    this.state = state;
    if (state !== RECORD_START) this.keep(chunk, n);
  }

  /** A blank line ended just before `next` in the chunk: skipped, counted. */
  private blankLine(next: number): void {
    this.line++;
    this.carried = 0;
    this.shift = 0;
    this.recordStart = next;
  }

  /** Keeps what the chunk holds of a record not yet ended, for the next chunk. */
  private keep(chunk: Uint8Array, n: number): void {
    // The record's bytes so far, but a CR that may be its line end.
    const kept = (this.shift === 0 ? n - this.recordStart : this.carried + n) - (this.state === CR_SEEN ? 1 : 0);
    if (kept > MAX_RECORD_BYTES) throw this.tooLong();
    if (this.shift === 0) {
      // The record began in this chunk: its bytes so far move to the carry, its positions with them.
      const start = this.recordStart;
      const { bounds, count } = this.record;
      for (let k = 0; k < 2 * count; k++) (bounds[k] as number) -= start;
      this.fieldStart -= start;
      this.quoteAt -= start;
      this.recordStart = 0;
      this.carried = 0;
      this.append(chunk.subarray(start, n));
    } else this.append(chunk.subarray(0, n));
    this.shift = this.carried;
  }

  private append(bytes: Uint8Array): void {
    const needed = this.carried + bytes.length;
    if (needed > this.carry.length) {
      const carry = new Uint8Array(Math.max(needed, 2 * this.carry.length, 1024));
      carry.set(this.carry.subarray(0, this.carried));
      this.carry = carry;
    }
    this.carry.set(bytes, this.carried);
    this.carried = needed;
  }

  private addField(start: number, end: number, quoting: number): void {
    const record = this.record;
    if (2 * record.count + 2 > record.bounds.length) record.grow();
    record.bounds[2 * record.count] = start;
    record.bounds[2 * record.count + 1] = end;
    record.quoting[record.count] = quoting;
    if (quoting !== UNQUOTED_FIELD) record.quoted++;
    record.count++;
  }

  /**
   * The record's last field was added: the record goes to the sink. `chunk` is the chunk it ends in and `next` where
   * the next one starts there, past its line end of `lineEndBytes` (LF or CRLF); null when it ends with the input,
   * all of it in the carry.
   */
  private endRecord(chunk: Uint8Array | null, next: number, lineEndBytes: number): void {
    const record = this.record;
    const recordEnd = chunk === null ? this.carried : next - lineEndBytes + this.shift;
    if (recordEnd - this.recordStart > MAX_RECORD_BYTES) throw this.tooLong();
    const contentEnd = record.end(record.count - 1);
    if (chunk === null) record.bytes = this.carry;
    else if (this.shift !== 0) {
      if (contentEnd > this.shift) this.append(chunk.subarray(0, contentEnd - this.shift));
      record.bytes = this.carry;
    } else record.bytes = chunk;
    record.line = this.line;
    if (this.width === -1) this.header(record);
    else if (record.count !== this.width) throw this.error(`has ${record.count} fields, the header has ${this.width}`);
    else this.sink.row(record);
    this.line += 1 + this.breaks;
    this.breaks = 0;
    record.count = 0;
    record.quoted = 0;
    this.carried = 0;
    this.shift = 0;
    this.recordStart = next;
  }

  private header(record: CsvRecord): void {
    const names = record.texts();
    if (names.every((name) => name === "")) throw new CsvSyntaxError("CSV has no header row");
    if (new Set(names).size !== names.length) throw new CsvSyntaxError("CSV header names a column twice");
    if (timeColumnOf(names) === -1) throw new CsvSyntaxError("CSV header row must contain a 'timestamp' column");
    if (names.includes("__proto__")) throw new CsvSyntaxError("CSV header may not name a column '__proto__'");
    this.width = names.length;
    this.sink.header(names, record);
  }

  private error(problem: string): CsvSyntaxError {
    return new CsvSyntaxError(`CSV line ${this.line} ${problem}`);
  }

  private tooLong(): CsvSyntaxError {
    return this.error(`is longer than ${MAX_RECORD_BYTES / 2 ** 20} MiB`);
  }
}

/** True when the chunk holds no quote, and no CR but right before an LF (in the chunk). */
function isPlainChunk(bytes: Buffer): boolean {
  if (bytes.includes(QUOTE)) return false;
  for (let at = bytes.indexOf(CR); at !== -1; at = bytes.indexOf(CR, at + 1)) if (bytes[at + 1] !== LF) return false;
  return true;
}
