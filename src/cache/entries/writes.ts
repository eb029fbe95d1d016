import { randomBytes } from "node:crypto";
import type { Clock } from "../../clock.js";
import { EntryBusyError, PayloadTooLargeError } from "../../errors.js";
import type { Log } from "../../log.js";
import { PreconditionFailedError, type ObjectStore, type ObjectVersion } from "../../storage/types.js";
import { createCsvDigest } from "./integrity.js";
import { buildMeta, contentIdentityOf, parseMeta, serializeMeta, type CacheMeta, type CsvFacts, type IndexRow, type Retention } from "./meta.js";
import { csvKeyOf, DERIVED_FORMS, derivedKeyOf, entryName, metaKeyOf, uploadKeyOf, type EntryId } from "./objects.js";
import type { EntryTurns, Turn } from "./turns.js";
import { formatCachedAt } from "../../time.js";

export interface WriteOptions {
  /** The caller's deadline: ends the wait for the entry's turn and the store calls. */
  signal?: AbortSignal;
  /** Fields of the writer's own, added to the meta after the cache's (which they must not name). */
  extraMeta?: Record<string, unknown>;
  /** How long the entry is served; the original's rule by default. */
  retention?: Retention;
  /**
   * Asked right before the CSV and the meta are written: false when the writer's right to write is gone (a
   * read-through fetch whose lease another request took over). Nothing more is written then (EntryBusyError).
   */
  stillMine?: () => Promise<boolean>;
}

/** Where and how a client uploads a CSV itself (see uploadUrl). */
export interface Upload {
  /** Names the upload to `commitUpload`. */
  uploadId: string;
  url: string;
  /** The headers to send with the PUT, as they are: the store refuses any other type, length, or a second upload. */
  headers: Record<string, string>;
}

export interface EntryWritesOptions {
  store: ObjectStore;
  clock: Clock;
  turns: EntryTurns;
  /** The info index, told of each entry committed or removed (see index/shards.ts). */
  index: IndexUpdates;
  log?: Pick<Log, "warn">;
  /** Told of each entry committed (a PUT, a commit, a read-through partition): makes its derived forms. */
  onCommitted?: (id: EntryId, meta: CacheMeta) => void;
}

/** What a writer tells the info index. */
export interface IndexUpdates {
  upsert(entry: string, row: IndexRow, stillCurrent?: () => Promise<boolean>): Promise<void>;
  remove(entries: readonly string[]): Promise<void>;
  /** Marks the entry's shard stale, for the next info to rebuild. */
  invalidate(entry: string): Promise<void>;
}

/** How often a writer re-reads a meta that changed under it before it lets the other writer's entry stand. */
const META_ATTEMPTS = 3;
const RETRY_AFTER_MS = 1_000;

/**
 * The writers of entries: PUT, the commit of an upload, a read-through partition, a delete. Each writes in the
 * entry's turn (one writer at a time, across containers; see turns.ts), and each of its puts is conditional on the
 * version it read — If-Match, or If-None-Match when absent — so a writer that is not coordinated (leases down, or
 * another program) cannot tear an entry either: whoever put the last CSV commits its meta, the others give up
 * (EntryBusyError) and their CSV was never committed. The CSV is written first, the meta last (the commit marker);
 * a crash between them leaves the old meta over the new CSV, which it does not prove: a miss, never wrong bytes.
 */
export function createEntryWrites(options: EntryWritesOptions) {
  const { store, clock, turns, index, log, onCommitted } = options;
  const busy = (why: string) => new EntryBusyError(why, new Date(clock.now().getTime() + RETRY_AFTER_MS));

  async function ensureMine(write: WriteOptions, turn: Turn): Promise<void> {
    if (!(await turn.held())) throw busy("This write lost its turn to another writer before committing");
    if (write.stillMine && !(await write.stillMine())) throw busy("This write was taken over by another writer");
  }

  /**
   * Writes the meta that commits the CSV at `csvVersion`, conditional on the meta's version read before the CSV was
   * written. When another writer changed the meta meanwhile: if the CSV is still this writer's, its meta goes on top
   * (read again); if not, the other writer's entry stands.
   */
  async function commitMeta(
    id: EntryId,
    facts: CsvFacts,
    metaVersion: ObjectVersion | null,
    turn: Turn,
    write: WriteOptions,
  ): Promise<CacheMeta> {
    const meta: CacheMeta = buildMeta(id, facts, formatCachedAt(clock.now()), write.retention);
    for (const field of Object.keys(write.extraMeta ?? {})) {
      if (field in meta) throw new Error(`A writer's meta field may not replace the cache's own: ${field}`);
    }
    const committed = { ...meta, ...write.extraMeta };
    const metaBytes = serializeMeta(committed);
    let ifMatch = metaVersion;
    let committedVersion: ObjectVersion;
    for (let attempt = 1; ; attempt++) {
      await ensureMine(write, turn);
      try {
        committedVersion = await store.put(metaKeyOf(id), metaBytes, { contentType: "application/json", signal: write.signal, ifMatch });
        break;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        const csvNow = await store.head(csvKeyOf(id));
        if (csvNow?.version !== facts.version || attempt >= META_ATTEMPTS) {
          log?.warn("entry_write_superseded", { entry: entryName(id) });
          throw busy("Another writer replaced this entry while it was being written; theirs stands");
        }
        ifMatch = (await store.head(metaKeyOf(id)))?.version ?? null;
      }
    }
    const row = { meta: committed, folder: id.folder ?? "", bytes: facts.csvBytes + Buffer.byteLength(metaBytes) };
    const stillCurrent = async () => (await store.head(metaKeyOf(id)))?.version === committedVersion;
    await quietly(entryName(id), () => index.upsert(entryName(id), row, stillCurrent));
    onCommitted?.(id, committed);
    return committed;
  }

  /**
   * Runs an index change; the write it follows has happened whatever becomes of it, so a failure only marks the
   * entry's shard stale, which the next info rebuilds from the objects.
   */
  async function quietly(entry: string, change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch {
      await index.invalidate(entry).catch(() => undefined);
    }
  }

  /** The versions of the entry's CSV and meta now: what its writer's puts are conditional on. */
  async function versionsOf(id: EntryId): Promise<{ csv: ObjectVersion | null; meta: ObjectVersion | null }> {
    const [csv, meta] = await Promise.all([store.head(csvKeyOf(id)), store.head(metaKeyOf(id))]);
    return { csv: csv?.version ?? null, meta: meta?.version ?? null };
  }

  return {
    /**
     * Stores a dataset CSV (checked and digested first, in one pass; see createCsvDigest), replacing any entry of the
     * same id, in the entry's turn: the CSV first, the meta last, which records its size, sha256 and the version the
     * store gave it. Nothing is deleted, so writers need no delete right.
     */
    async write(id: EntryId, csv: Uint8Array, write: WriteOptions = {}): Promise<CacheMeta> {
      const digest = createCsvDigest();
      digest.push(csv);
      const { rows, sha256 } = digest.end();
      return turns.run(
        entryName(id),
        async (turn) => {
          const before = await versionsOf(id);
          await ensureMine(write, turn);
          let version: ObjectVersion;
          try {
            version = await store.put(csvKeyOf(id), csv, { contentType: "text/csv", signal: write.signal, ifMatch: before.csv });
          } catch (error) {
            if (error instanceof PreconditionFailedError) throw busy("Another writer is writing this entry");
            throw error;
          }
          return commitMeta(id, { rows, csvBytes: csv.length, sha256, version }, before.meta, turn, write);
        },
        { signal: write.signal },
      );
    },

    /**
     * A short-lived URL to PUT a CSV of `sizeBytes` into a staging object of its own, to be committed with
     * `commitUpload`; the live entry is served as it is until then. The URL is bound to that length and creates its
     * object once (a second PUT is refused by the store). Null when the store cannot hand out URLs.
     */
    async uploadUrl(id: EntryId, sizeBytes: number, expiresSeconds: number): Promise<Upload | null> {
      if (!store.presigner) return null;
      const expiresAt = Math.ceil(clock.now().getTime() / 1000) + expiresSeconds;
      const uploadId = `${expiresAt}-${randomBytes(8).toString("hex")}`;
      const terms = { contentType: "text/csv", sizeBytes, createOnly: true };
      const url = await store.presigner.putUrl(uploadKeyOf(id, uploadId), expiresSeconds, terms);
      const headers = { "Content-Type": terms.contentType, "Content-Length": String(sizeBytes), "If-None-Match": "*" };
      return { uploadId, url, headers };
    },

    /**
     * Commits an uploaded CSV: checks and digests it in one streaming pass (at most `maxBytes`), then, in the entry's
     * turn, copies it into place inside the store and writes the meta; the upload is then spent (its staging object
     * emptied, which the URL cannot overwrite). Null when nothing waits under `uploadId` (never uploaded, or spent).
     */
    async commitUpload(id: EntryId, uploadId: string, maxBytes: number): Promise<CacheMeta | null> {
      const key = uploadKeyOf(id, uploadId);
      const staged = await store.getStream(key);
      if (!staged) return null;
      // An empty staging object is an upload already committed (an upload URL is for at least one byte).
      if (staged.sizeBytes === 0) {
        await staged.stream.cancel();
        return null;
      }
      if (staged.sizeBytes > maxBytes) {
        await staged.stream.cancel();
        throw new PayloadTooLargeError(`The uploaded CSV is ${staged.sizeBytes} bytes, over the ${maxBytes} bytes allowed`);
      }
      const digest = createCsvDigest();
      let readBytes = 0;
      try {
        for await (const chunk of staged.stream as unknown as AsyncIterable<Uint8Array>) {
          readBytes += chunk.length;
          if (readBytes > maxBytes) throw new PayloadTooLargeError(`The uploaded CSV is over the ${maxBytes} bytes allowed`);
          digest.push(chunk);
        }
      } catch (error) {
        await staged.stream.cancel().catch(() => undefined);
        throw error;
      }
      const { rows, sha256, sizeBytes } = digest.end();
      return turns.run(entryName(id), async (turn) => {
        const before = await versionsOf(id);
        await ensureMine({}, turn);
        const version = await store.copy(key, staged.version, csvKeyOf(id));
        if (version === null) throw busy("The upload changed while it was being committed");
        const meta = await commitMeta(id, { rows, csvBytes: sizeBytes, sha256, version }, before.meta, turn, {});
        await store.put(key, "", { contentType: "text/csv" });
        return meta;
      });
    },

    /**
     * Removes both objects of an entry, and its derived forms, in the entry's turn, each only while it is the object
     * judged (a write of another program meanwhile stands); false when neither was there.
     */
    async remove(id: EntryId): Promise<boolean> {
      return turns.run(entryName(id), async () => {
        const [metaHead, csvHead] = await Promise.all([store.head(metaKeyOf(id)), store.head(csvKeyOf(id))]);
        if (metaHead === null && csvHead === null) return false;
        // The meta names the derived forms; those made from an older CSV are the sweep's.
        const bytes = metaHead ? await store.get(metaKeyOf(id)) : null;
        const meta = bytes && parseMeta(bytes);
        const judged = [
          ...(metaHead ? [{ key: metaKeyOf(id), version: metaHead.version }] : []),
          ...(csvHead ? [{ key: csvKeyOf(id), version: csvHead.version }] : []),
        ];
        await store.deleteIfUnchanged(judged);
        if (meta) await store.deleteMany(DERIVED_FORMS.map((form) => derivedKeyOf(id, contentIdentityOf(meta), form)));
        await quietly(entryName(id), () => index.remove([entryName(id)]));
        return true;
      });
    },
  };
}

export type EntryWrites = ReturnType<typeof createEntryWrites>;
