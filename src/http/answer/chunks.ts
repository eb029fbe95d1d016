import { csvRowsOf } from "../../csv/grammar.js";
import { csvToJsonRows, jsonRowsOf, STREAM_JSON_ABOVE_BYTES } from "../../csv/json-rows.js";
import type { SourceRowsJson } from "./source.js";

/** A CSV held in memory in chunks (a klines range's partitions, trimmed to it): its size. */
export const sizeOf = (chunks: readonly Uint8Array[]) => chunks.reduce((sum, chunk) => sum + chunk.length, 0);

/**
 * The rows of a CSV in memory as JSON. Built whole, with its size, unless it is large and nothing limits what is
 * answered inline: a year of 1m candles is 136 MB of JSON, so it is written 64 KB at a time from the CSV instead.
 */
export function rowsJsonOfChunks(csv: readonly Uint8Array[], maxCsvBytes: number | undefined): SourceRowsJson {
  if (maxCsvBytes !== undefined || sizeOf(csv) <= STREAM_JSON_ABOVE_BYTES) return csvToJsonRows(csv);
  const rows = csvRowsOf(csv);
  return { stream: jsonRowsOf(inOrder(csv), rows), rows };
}

async function* inOrder(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}
