import type { Log } from "../../log.js";
import { PreconditionFailedError, type ObjectStore, type ObjectVersion } from "../../storage/types.js";
import { mapLimit } from "../../util/map-limit.js";
import { cacheMetaSchema, type IndexRow } from "../entries/meta.js";

/**
 * The info index: what `info` needs of every entry (its meta, folder and size), kept in 16 shard objects
 * `_index/<d>.json`, one per first hex digit of the entry's key, so that info reads 16 objects whatever the number
 * of entries, and writers of different entries rarely touch the same shard. Every change is a read-modify-write
 * conditional on the shard's version (PreconditionFailedError: read again and retry), so no writer's change is lost.
 * The index is not the truth: the objects are. It is repaired from a full listing by the sweep, when a shard is
 * missing or unreadable, and on demand; metas written by anyone else (the Python service) appear then.
 */
export const INDEX_PREFIX = "_index/";
export const SHARD_DIGITS = [..."0123456789abcdef"];
const shardKeyOf = (digit: string) => `${INDEX_PREFIX}${digit}.json`;
/** The shard of an entry, by its name `[<folder>/]<md5>`: the md5's first digit. */
export const shardOf = (entry: string) => entry.slice(-32, -31);

/** A shard: its rows by entry name. */
export type Shard = Map<string, IndexRow>;

const MAX_ATTEMPTS = 8;
/** What a stale shard holds: not a shard (see parseShard), so the next info rebuilds it. */
const STALE = JSON.stringify({ v: 0, stale: true });
const SHARD_CONCURRENCY = 16;

function parseShard(bytes: Uint8Array): Shard | null {
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as { v?: number; entries?: Record<string, IndexRow> };
    if (parsed.v !== 1 || typeof parsed.entries !== "object" || parsed.entries === null) return null;
    const shard: Shard = new Map();
    for (const [entry, row] of Object.entries(parsed.entries)) {
      const meta = cacheMetaSchema.safeParse(row.meta);
      if (!meta.success || typeof row.folder !== "string" || typeof row.bytes !== "number") return null;
      shard.set(entry, { meta: meta.data, folder: row.folder, bytes: row.bytes });
    }
    return shard;
  } catch {
    return null;
  }
}

const serializeShard = (shard: Shard) => JSON.stringify({ v: 1, entries: Object.fromEntries(shard) });

export type InfoIndex = ReturnType<typeof createInfoIndex>;

export function createInfoIndex(store: Pick<ObjectStore, "getStream" | "put" | "list" | "deleteMany">, log?: Log) {
  /**
   * The last shard parsed of each digit, by the version it was read at: a shard unchanged since is not read and
   * checked again (at 100,000 entries that is most of what info costs). The version still comes from the store.
   */
  const parsed = new Map<string, { version: ObjectVersion; shard: Shard }>();

  /** A shard (a copy the caller may change) and its version; null version when there is none; shard null when unreadable. */
  async function read(digit: string): Promise<{ shard: Shard | null; version: ObjectVersion | null }> {
    const object = await store.getStream(shardKeyOf(digit));
    if (!object) return { shard: new Map(), version: null };
    const known = parsed.get(digit);
    if (known !== undefined && known.version === object.version) {
      await object.stream.cancel();
      return { shard: new Map(known.shard), version: object.version };
    }
    const shard = parseShard(new Uint8Array(await new Response(object.stream).arrayBuffer()));
    if (shard === null) parsed.delete(digit);
    else parsed.set(digit, { version: object.version, shard: new Map(shard) });
    return { shard, version: object.version };
  }

  /**
   * Applies `change` to a shard, conditional on the version read; retried on conflict, bounded. With `stillTrue`,
   * asked after each read of the shard and before its put: when it no longer holds, the change is dropped. Asked
   * there, it is as good as asked at the put (a put that succeeds follows every put before it, and what they
   * recorded had happened before they were made).
   */
  async function update(digit: string, change: (shard: Shard) => void, stillTrue?: () => Promise<boolean>): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { shard, version } = await read(digit);
      // A shard is made only by a repair, from a listing, so it is whole when it exists: a missing one stays
      // missing (a change to it would hide the entries it should hold), an unreadable one stale, until then.
      if (shard === null || version === null) return;
      if (stillTrue && !(await stillTrue())) return;
      change(shard);
      try {
        await store.put(shardKeyOf(digit), serializeShard(shard), { contentType: "application/json", ifMatch: version });
        return;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    // Never won: the shard is marked stale, so the next info rebuilds it from the objects themselves.
    log?.warn("info_index_contended", { shard: digit });
    await invalidate(digit);
  }

  /**
   * Marks a shard stale (unreadable), which the next info rebuilds from a listing: an unconditional put, the one
   * right every writer of entries has (a delete right it may lack).
   */
  async function invalidate(digit: string): Promise<void> {
    await store.put(shardKeyOf(digit), STALE, { contentType: "application/json" });
  }

  return {
    /** Marks the shard of `entry` stale (see invalidate). */
    invalidate: (entry: string) => invalidate(shardOf(entry)),

    /**
     * Records an entry written (its meta committed), while `stillCurrent` says its meta is the one in the store: a
     * writer whose meta another writer replaced meanwhile leaves the row to that writer, so the index never keeps
     * an older writer's row over a newer one's, whatever order their index updates run in.
     */
    upsert: (entry: string, row: IndexRow, stillCurrent?: () => Promise<boolean>) =>
      update(shardOf(entry), (shard) => void shard.set(entry, row), stillCurrent),

    /** Forgets entries removed. */
    async remove(entries: readonly string[]): Promise<void> {
      const byShard = new Map<string, string[]>();
      for (const entry of entries) byShard.set(shardOf(entry), [...(byShard.get(shardOf(entry)) ?? []), entry]);
      await mapLimit([...byShard], SHARD_CONCURRENCY, ([digit, names]) =>
        update(digit, (shard) => {
          for (const name of names) shard.delete(name);
        }),
      );
    },

    /** Every shard, with its version; `shard` null for one that is missing or unreadable (to be repaired). */
    async readAll(): Promise<Map<string, { shard: Shard | null; version: ObjectVersion | null }>> {
      const shards = await mapLimit(SHARD_DIGITS, SHARD_CONCURRENCY, async (digit) => {
        const read1 = await read(digit);
        return [digit, read1.version === null ? { shard: null, version: null } : read1] as const;
      });
      return new Map(shards);
    },

    /**
     * Replaces shards with what a listing found, each only if still at the version read before that listing (a
     * writer's change since would be lost otherwise). The digits that changed meanwhile, to repair again.
     */
    async replace(
      digits: readonly string[],
      rows: ReadonlyMap<string, IndexRow>,
      versions: ReadonlyMap<string, ObjectVersion | null>,
    ): Promise<string[]> {
      const byShard = new Map<string, Shard>(digits.map((digit) => [digit, new Map()]));
      for (const [entry, row] of rows) byShard.get(shardOf(entry))?.set(entry, row);
      const conflicted = await mapLimit(digits, SHARD_CONCURRENCY, async (digit) => {
        try {
          const ifMatch = versions.get(digit) ?? null;
          await store.put(shardKeyOf(digit), serializeShard(byShard.get(digit) as Shard), { contentType: "application/json", ifMatch });
          return null;
        } catch (error) {
          if (error instanceof PreconditionFailedError) return digit;
          throw error;
        }
      });
      return conflicted.filter((digit): digit is string => digit !== null);
    },

    /** Removes every shard (clear). */
    async clear(): Promise<void> {
      await store.deleteMany((await store.list(INDEX_PREFIX)).map((object) => object.key));
    },
  };
}
