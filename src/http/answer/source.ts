import type { RowsJson } from "../../csv/json-rows.js";
import type { ColumnarFormat, Format } from "../../formats/media.js";

/** A body read from the store, with its size. */
export interface SizedStream {
  stream: ReadableStream<Uint8Array>;
  sizeBytes: number;
}

/** The rows of a source as JSON: whole, with its size, or as a stream when it is too large to build whole. */
export type SourceRowsJson = RowsJson | { stream: AsyncIterable<Uint8Array>; rows: number };

/**
 * What the answer pipeline (answer.ts) needs of a CSV-backed source: an entry, or a klines range. A source says
 * what it is and where its bytes are; the pipeline decides how each format is answered.
 */
export interface CsvBackedSource {
  /** The file name an answer is given, without its extension. */
  name: string;
  /** The answer's entity tag in `format`. */
  tagOf(format: Format): string;
  cacheControl: string;
  /** The CSV's size, estimated before anything is read (a range's partitions); undefined when only the read tells. */
  estimatedCsvBytes?: number;
  /** The fields a JSON answer carries beside its rows (the envelope's `data`, `rows` excepted). */
  jsonFields(rows: number): Record<string, unknown>;
  /** The CSV, proven; a read may be asked again (the columnar forms read it twice). Throws when it is not there. */
  csv(): Promise<SizedStream>;
  /** The rows as JSON, from a CSV of at most `maxCsvBytes` (over it: TooLargeError from the source's tooLarge). */
  rowsJson(maxCsvBytes: number | undefined): Promise<SourceRowsJson>;
  /** The derived form kept beside the source by its writer, when one is; none for sources that keep none. */
  kept?(format: ColumnarFormat): Promise<SizedStream | null>;
  /** A short-lived URL of the kept form in the store itself; null when the store cannot make one. */
  keptUrl?(format: ColumnarFormat): Promise<string | null>;
  /** What is answered when the answer in `format` is over what is answered inline (a redirect, parts, or an error). */
  tooLarge(format: Format): Promise<Response>;
  /** Called once the source is being answered (a 200, a 304 or a redirect): counts the hit. */
  served?(): void;
}
