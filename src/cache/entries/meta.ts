import { createHash } from "node:crypto";
import * as z from "zod/mini";
import { normalizeMarketType, normalizeSymbol, type DatasetId } from "../../market.js";
import { datasetKey } from "./key.js";

/**
 * How long an entry is served: by the original's validity rule (absent), or until its writer replaces it
 * (`until_replaced`: entries whose writer keeps them up to date itself, such as the read-through's partitions).
 */
export const RETENTIONS = ["rule", "until_replaced"] as const;
export type Retention = (typeof RETENTIONS)[number];

/**
 * `<key>_meta.json`: the original's fields, plus ours (the Python service ignores them): the CSV's size, sha256 and
 * the version the store gave it when written, and the entry's retention. Metas written by the original have none of
 * ours; unknown fields are kept.
 */
const count = z.int().check(z.nonnegative());
export const cacheMetaSchema = z.looseObject({
  symbol: z.string(),
  interval: z.string(),
  start_date: z.string(),
  end_date: z.string(),
  market_type: z.string(),
  cached_at: z.string(),
  rows: count,
  cache_key: z.string(),
  csv_bytes: z.optional(count),
  csv_sha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
  csv_version: z.optional(z.string()),
  retention: z.optional(z.enum(RETENTIONS)),
});

export type CacheMeta = z.infer<typeof cacheMetaSchema>;

/** One entry as the info index keeps it: its meta, where it is, and its size. */
export interface IndexRow {
  meta: CacheMeta;
  /** "" for the root. */
  folder: string;
  /** Bytes of the entry's CSV and meta. */
  bytes: number;
}

/** What the cache proved of a CSV it wrote: its rows, size and digest (one pass), and the store's version of it. */
export interface CsvFacts {
  rows: number;
  csvBytes: number;
  sha256: string;
  version: string;
}

export function buildMeta(id: DatasetId, facts: CsvFacts, cachedAt: string, retention: Retention = "rule"): CacheMeta {
  return {
    symbol: id.symbol,
    interval: id.interval,
    start_date: id.start_date,
    end_date: id.end_date,
    market_type: id.market_type,
    cached_at: cachedAt,
    rows: facts.rows,
    cache_key: datasetKey(id),
    csv_bytes: facts.csvBytes,
    csv_sha256: facts.sha256,
    csv_version: facts.version,
    ...(retention === "rule" ? {} : { retention }),
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
    normalizeSymbol(meta.symbol) === id.symbol &&
    meta.interval === id.interval &&
    meta.start_date === id.start_date &&
    meta.end_date === id.end_date &&
    normalizeMarketType(meta.market_type) === id.market_type
  );
}

/** The original writes its meta with json.dump(indent=2); we write the same layout. */
export function serializeMeta(meta: CacheMeta): string {
  return JSON.stringify(meta, null, 2);
}

/**
 * What identifies the content of the entry a meta describes: the CSV's sha256 when the meta records it (every entry
 * this service wrote), else a digest of the original's fields that change when it rewrites an entry (key,
 * cached_at, rows). 64 hex digits.
 */
export function contentIdentityOf(meta: CacheMeta): string {
  return (
    meta.csv_sha256 ??
    createHash("sha256").update(`${meta.cache_key}\n${meta.cached_at}\n${meta.rows}\n${meta.csv_bytes ?? ""}`).digest("hex")
  );
}
