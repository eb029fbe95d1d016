import { createHash } from "node:crypto";
import { buildMeta, serializeMeta } from "../../src/cache/entries/meta.js";
import { csvKeyOf, metaKeyOf } from "../../src/cache/entries/objects.js";
import { formatCachedAt } from "../../src/time.js";
import type { DatasetId } from "../../src/market.js";
import type { ObjectStore } from "../../src/storage/types.js";

/**
 * Stores an entry as the service stored one before it checked CSVs by its grammar: the CSV as given, then a meta
 * that proves it by its version and sha256, with the rows the older check counted.
 */
export async function storeUncheckedEntry(store: ObjectStore, id: DatasetId, csv: string, rows: number, cachedAt: Date): Promise<void> {
  const bytes = Buffer.from(csv);
  const version = await store.put(csvKeyOf(id), bytes, { contentType: "text/csv" });
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const meta = buildMeta(id, { rows, csvBytes: bytes.length, sha256, version }, formatCachedAt(cachedAt));
  await store.put(metaKeyOf(id), serializeMeta(meta), { contentType: "application/json" });
}
