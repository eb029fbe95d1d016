import * as z from "zod";
import { type DatasetId } from "../market.js";
import { datasetKey } from "./key.js";

/**
 * `<key>_meta.json`: the original's fields, plus `csv_bytes` (ours; the CSV's size, so a torn or foreign CSV
 * is caught by one HEAD). Metas written by the original have no csv_bytes; unknown fields are kept.
 */
export const cacheMetaSchema = z.looseObject({
  symbol: z.string(),
  interval: z.string(),
  start_date: z.string(),
  end_date: z.string(),
  market_type: z.string(),
  cached_at: z.string(),
  rows: z.number().int().nonnegative(),
  cache_key: z.string(),
  csv_bytes: z.number().int().nonnegative().optional(),
});

export type CacheMeta = z.infer<typeof cacheMetaSchema>;

export function buildMeta(id: DatasetId, shape: { rows: number; csvBytes: number }, cachedAt: string): CacheMeta {
  return {
    symbol: id.symbol,
    interval: id.interval,
    start_date: id.start_date,
    end_date: id.end_date,
    market_type: id.market_type,
    cached_at: cachedAt,
    rows: shape.rows,
    cache_key: datasetKey(id),
    csv_bytes: shape.csvBytes,
  };
}

/** The meta in `bytes`, or null when it is not JSON of the meta's shape. */
export function parseMeta(bytes: Uint8Array): CacheMeta | null {
  try {
    const parsed = cacheMetaSchema.safeParse(JSON.parse(Buffer.from(bytes).toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** True when the meta describes exactly this dataset (a meta copied under another key is not ours to serve). */
export function describes(meta: CacheMeta, id: DatasetId): boolean {
  return (
    meta.cache_key === datasetKey(id) &&
    meta.symbol.toUpperCase() === id.symbol &&
    meta.interval === id.interval &&
    meta.start_date === id.start_date &&
    meta.end_date === id.end_date &&
    meta.market_type.toLowerCase() === id.market_type
  );
}

/** The original writes its meta with json.dump(indent=2); we write the same layout. */
export function serializeMeta(meta: CacheMeta): string {
  return JSON.stringify(meta, null, 2);
}
