import type { Clock } from "../../clock.js";
import { csvToRows, type Row } from "../../csv/check.js";
import { countCsvRows, unlessRefused } from "../../csv/grammar.js";
import { csvToJsonRows, jsonRowsOf, STREAM_JSON_ABOVE_BYTES, type RowsJson } from "../../csv/json-rows.js";
import { TooLargeToInlineError } from "../../errors.js";
import type { ObjectStore, ObjectStream } from "../../storage/types.js";
import { createCsvProof, versionMatches } from "./integrity.js";
import { describes, parseMeta, type CacheMeta } from "./meta.js";
import { csvKeyOf, metaKeyOf, type EntryId } from "./objects.js";

/** Why a lookup did not hit: nothing there, too old to serve, or objects that disagree (a torn write). */
export type MissReason = "absent" | "expired" | "torn";

export type Lookup<T> = ({ hit: true; meta: CacheMeta } & T) | { hit: false; reason: MissReason };

/** A store call's options: the caller's deadline. */
export interface ReadOptions {
  signal?: AbortSignal;
}

export const TORN = { hit: false, reason: "torn" } as const;

export interface EntryReadsOptions {
  store: ObjectStore;
  clock: Clock;
  /** Whether the entry of `meta` is served at `now` (its retention; see retention/validity.ts). */
  isServed: (meta: CacheMeta, now: Date) => boolean;
}

/** A CSV up to this size is proven in memory and served from there; a larger one is read twice (prove, then serve). */
const PROVE_IN_MEMORY_MAX_BYTES = 16 * 2 ** 20;
/** How many proven (CSV version, meta) pairs are remembered, so an entry is proven once per process. */
const PROVEN_MEMO_MAX = 10_000;

/**
 * The only reader of an entry's `<key>.csv` and `<key>_meta.json`: a meta is served only when it describes the entry
 * and its retention still serves it; a CSV only once proven to be its meta's (see openProven). Anything torn or
 * foreign is a miss, and nothing is ever deleted for it.
 */
export function createEntryReads(options: EntryReadsOptions) {
  const { store, clock, isServed } = options;

  /** The committed meta of `id` that its own retention still serves, or why there is none. */
  async function lookup(id: EntryId, read: ReadOptions = {}): Promise<Lookup<object>> {
    const bytes = await store.get(metaKeyOf(id), read);
    if (!bytes) return { hit: false, reason: "absent" };
    const meta = parseMeta(bytes);
    if (!meta || !describes(meta, id)) return TORN;
    if (!isServed(meta, clock.now())) return { hit: false, reason: "expired" };
    return { hit: true, meta };
  }

  /**
   * CSVs proven to be what their meta says although their version is not the meta's, by (key, version, claim); and
   * CSVs whose rows the grammar counted for a streamed JSON answer (see openRowsJson).
   */
  const proven = new Map<string, true>();
  const provenKey = (id: EntryId, version: string, meta: CacheMeta) =>
    `${csvKeyOf(id)}\n${version}\n${meta.csv_sha256 ?? meta.rows}\n${meta.csv_bytes ?? ""}`;
  function rememberProven(key: string): void {
    proven.set(key, true);
    if (proven.size > PROVEN_MEMO_MAX) proven.delete(proven.keys().next().value as string);
  }

  /**
   * The CSV of `meta`'s entry, open and proven before a byte of it is served: a CSV whose version is the meta's is
   * the object the meta was written with (free: the version comes with the read); any other is read once and proven
   * by the meta's sha256 or, for the original's metas, its row count (see createCsvProof). Null when it is missing,
   * of another size, or not what the meta says. Nothing is ever deleted for it.
   */
  async function openProven(id: EntryId, meta: CacheMeta, read: ReadOptions): Promise<ObjectStream | null> {
    const object = await store.getStream(csvKeyOf(id), read);
    if (!object) return null;
    if (meta.csv_bytes !== undefined && object.sizeBytes !== meta.csv_bytes) {
      await object.stream.cancel();
      return null;
    }
    const memoKey = provenKey(id, object.version, meta);
    if (versionMatches(meta, object.version) || proven.has(memoKey)) return object;
    const proof = createCsvProof(meta);
    if (object.sizeBytes <= PROVE_IN_MEMORY_MAX_BYTES) {
      const chunks = await readChunks(object);
      if (!chunks) return null;
      for (const chunk of chunks) proof.push(chunk);
      if (!proof.holds()) return null;
      rememberProven(memoKey);
      return { ...object, stream: streamOf(chunks) };
    }
    for await (const chunk of object.stream as unknown as AsyncIterable<Uint8Array>) proof.push(chunk);
    if (!proof.holds()) return null;
    // Served from a second read, which must be of the very object proven.
    const again = await store.getStream(csvKeyOf(id), read);
    if (!again || again.version !== object.version || again.sizeBytes !== object.sizeBytes) {
      await again?.stream.cancel();
      return null;
    }
    rememberProven(memoKey);
    return again;
  }

  /**
   * The stored CSV as a stream, proven to be its meta's, for serving its bytes unchanged: the meta as it is now, or
   * `read.meta` when the caller looked it up already (a CSV rewritten since is then a miss).
   */
  async function openCsv(id: EntryId, read: ReadOptions & { meta?: CacheMeta } = {}): Promise<Lookup<{ csv: ObjectStream }>> {
    const found: Lookup<object> = read.meta ? { hit: true, meta: read.meta } : await lookup(id, read);
    if (!found.hit) return found;
    const csv = await openProven(id, found.meta, read);
    return csv ? { hit: true, meta: found.meta, csv } : TORN;
  }

  /**
   * The stored CSV's bytes, proven to be its meta's: the meta as it is now, or `read.meta` when the caller planned
   * with one (a CSV rewritten since is then a miss). Not read when larger than `maxCsvBytes` (TooLargeToInlineError).
   */
  async function readCsv(
    id: EntryId,
    read: ReadOptions & { maxCsvBytes?: number; meta?: CacheMeta } = {},
  ): Promise<Lookup<{ csv: Uint8Array[] }>> {
    const found: Lookup<object> = read.meta ? { hit: true, meta: read.meta } : await lookup(id, read);
    if (!found.hit) return found;
    const maxCsvBytes = read.maxCsvBytes ?? Infinity;
    if (found.meta.csv_bytes !== undefined && found.meta.csv_bytes > maxCsvBytes) {
      throw new TooLargeToInlineError(found.meta.csv_bytes, maxCsvBytes);
    }
    const object = await openProven(id, found.meta, read);
    if (!object) return TORN;
    if (object.sizeBytes > maxCsvBytes) {
      await object.stream.cancel();
      throw new TooLargeToInlineError(object.sizeBytes, maxCsvBytes);
    }
    const csv = await readChunks(object);
    return csv ? { hit: true, meta: found.meta, csv } : TORN;
  }

  return {
    lookup,
    openCsv,
    openProven,
    readCsv,

    /**
     * The entry's rows, parsed: timestamps as ISO-8601 UTC, numbers as numbers. A CSV larger than
     * `maxCsvBytes` is not read: TooLargeToInlineError. A CSV the grammar refuses (stored before it was checked by
     * it) is a miss.
     */
    async readRows(id: EntryId, options: { maxCsvBytes?: number } = {}): Promise<Lookup<{ rows: Row[] }>> {
      const found = await readCsv(id, options);
      if (!found.hit) return found;
      const rows = unlessRefused(() => csvToRows(new TextDecoder().decode(Buffer.concat(found.csv))));
      if (rows?.length !== found.meta.rows) return TORN;
      return { hit: true, meta: found.meta, rows };
    },

    /**
     * The entry's rows as JSON text, the very bytes of `JSON.stringify(rows)` for readRows' rows, written without
     * building them (see csvToJsonRows). A CSV larger than `maxCsvBytes` is not read: TooLargeToInlineError.
     */
    async readRowsJson(id: EntryId, options: { maxCsvBytes?: number; meta?: CacheMeta } = {}): Promise<Lookup<{ json: RowsJson }>> {
      const found = await readCsv(id, options);
      if (!found.hit) return found;
      const json = unlessRefused(() => csvToJsonRows(found.csv));
      if (json?.rows !== found.meta.rows) return TORN;
      return { hit: true, meta: found.meta, json };
    },

    /**
     * The entry's rows as JSON, the same bytes as readRowsJson: in memory for a CSV up to STREAM_JSON_ABOVE_BYTES;
     * above, written as the CSV is read (jsonRowsOf), so memory holds a chunk or two whatever the size. Before
     * the answer starts, a first read proves the CSV holds the meta's rows by the grammar (once per CSV version and
     * process, remembered with the proven CSVs), so the answer cannot break midway but for the store failing.
     */
    async openRowsJson(
      id: EntryId,
      options: { maxCsvBytes?: number; meta: CacheMeta },
    ): Promise<Lookup<{ json: RowsJson | { stream: AsyncIterable<Uint8Array> } }>> {
      const { meta } = options;
      const first = await openProven(id, meta, {});
      if (!first) return TORN;
      const maxCsvBytes = options.maxCsvBytes ?? Infinity;
      if (first.sizeBytes > maxCsvBytes) {
        await first.stream.cancel();
        throw new TooLargeToInlineError(first.sizeBytes, maxCsvBytes);
      }
      if (first.sizeBytes <= STREAM_JSON_ABOVE_BYTES) {
        const csv = await readChunks(first);
        const json = csv && unlessRefused(() => csvToJsonRows(csv));
        return json?.rows === meta.rows ? { hit: true, meta, json } : TORN;
      }
      const counted = `rows counted by the grammar\n${provenKey(id, first.version, meta)}`;
      let csv: ObjectStream | null = first;
      if (first.version === "" || !proven.has(counted)) {
        if ((await countCsvRows(first.stream as unknown as AsyncIterable<Uint8Array>)) !== meta.rows) return TORN;
        rememberProven(counted);
        csv = await openProven(id, meta, {});
        if (!csv) return TORN;
      }
      return { hit: true, meta, json: { stream: jsonRowsOf(csv.stream as unknown as AsyncIterable<Uint8Array>, meta.rows) } };
    },

    /** A short-lived URL to GET the entry's CSV from the store itself; null when the store cannot make one. */
    async downloadUrl(id: EntryId, expiresSeconds: number): Promise<string | null> {
      return store.presigner ? store.presigner.getUrl(csvKeyOf(id), expiresSeconds) : null;
    },

  };
}

export type EntryReads = ReturnType<typeof createEntryReads>;

/** All of a stream's chunks, as read (not copied into one buffer); null when they are not the announced size. */
export async function readChunks(object: ObjectStream): Promise<Uint8Array[] | null> {
  const chunks: Uint8Array[] = [];
  let sizeBytes = 0;
  for await (const chunk of object.stream as unknown as AsyncIterable<Uint8Array>) {
    sizeBytes += chunk.length;
    if (sizeBytes > object.sizeBytes) return null;
    chunks.push(chunk);
  }
  return sizeBytes === object.sizeBytes ? chunks : null;
}

/** Chunks in memory as a stream, handed out one per pull. */
export function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}
