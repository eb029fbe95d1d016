import type { Assembled } from "../formats/assemble-parquet.js";
import type { ColumnarFormat } from "../formats/media.js";
import { mapLimit } from "../util/map-limit.js";
import type { KlinesResult, ServedPartition } from "./service.js";

/** Months' forms read at once: the store answers a few reads side by side faster than one after another. */
const READS_AT_ONCE = 4;

export interface RangeFormPorts {
  /** A partition's form as its writer's job kept it; null when none is kept yet. */
  keptOf(part: ServedPartition, format: ColumnarFormat): Promise<Uint8Array | null>;
  /** The form of the rows of a partition the range covers in part, converted from its CSV. */
  convertedOf(part: ServedPartition, format: ColumnarFormat): Promise<Uint8Array>;
  /** One file of the pieces, or null when they cannot stand together. */
  assembled(format: ColumnarFormat, pieces: readonly Uint8Array[]): Promise<Assembled | null>;
}

/**
 * A range's Parquet or Arrow answer from its months' kept forms: each month the range covers whole is its kept
 * form, copied; a month covered in part (the range's first or last) is converted from its rows in the range; the
 * pieces are assembled into one file without being encoded again. Null when a whole month has no kept form yet
 * (the writer's job makes it soon after the month is written), or the pieces cannot stand together, or the range
 * has no rows: the caller converts the whole range instead.
 */
export async function rangeFormOf(result: KlinesResult, format: ColumnarFormat, ports: RangeFormPorts): Promise<Assembled | null> {
  const stored = result.partitions.filter((part) => part.meta && part.meta.rows > 0);
  if (stored.length === 0) return null;
  const pieces = await mapLimit(stored, READS_AT_ONCE, async (part) => {
    const whole = result.range.startMs <= part.partition.startMs && part.partition.endMs <= result.range.endMs;
    return whole ? ports.keptOf(part, format) : ports.convertedOf(part, format);
  });
  return pieces.every((piece) => piece !== null) ? ports.assembled(format, pieces) : null;
}
