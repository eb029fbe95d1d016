import type { Context } from "hono";
import { rowsToCsv } from "../../csv/check.js";
import type { Lookup } from "../../cache/data-cache.js";
import { datasetKey } from "../../cache/entries/key.js";
import { dataCacheHitKey, dataCacheMissKey } from "../../counters/keys.js";
import { AppError, InvalidBodyError, NotFoundError, StorageUnavailableError, UnsupportedMediaTypeError } from "../../errors.js";
import type { DatasetId } from "../../market.js";
import type { RouteChain } from "../app.js";
import { success, successWithRows, successWithRowsStream } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead, requireWrite } from "../middleware/auth.js";
import { limitBody } from "../middleware/body.js";
import { compressAnswers } from "../middleware/compress.js";
import type { CsvSource } from "../../formats/columnar.js";
import { loadColumnar } from "../../formats/lazy.js";
import { isColumnar, MEDIA_TYPES } from "../../formats/media.js";
import { cacheControlOf, entityTagOf, matchesIfNoneMatch } from "../revalidation.js";
import { streamOf, streamOfGenerator } from "../stream.js";
import { lambdaDeadlineOf } from "../request-deadline.js";
import { datasetFromQuery, uploadIdFromQuery, uploadSizeFromQuery, wantedFormat } from "../validation.js";

/**
 * GET data: a hit as JSON rows, the stored CSV bytes, or its Parquet or Arrow form (kept beside it by its writer, or
 * converted for the request until then), streamed (text compressed when the client accepts it); on Lambda a large
 * CSV or kept form redirects to the store. Every hit carries an ETag and a Cache-Control; a client whose copy has the ETag gets 304, and nothing beyond
 * the meta is read for it.
 */
export function readData(
  deps: Pick<AppDeps, "cache" | "counters" | "access" | "clock" | "inlineMaxBytes" | "presignTtlSeconds" | "conversions">,
): RouteChain {
  const { cache, counters, clock, inlineMaxBytes, presignTtlSeconds, conversions } = deps;
  /** Shared caches may keep a hit only when anyone may read it. */
  const shared = deps.access.readToken === undefined;
  /** One INCRBY per read, sent and not waited for: a slow or failing Redis never slows or fails the answer. */
  const count = (id: DatasetId, isHit: boolean) =>
    void counters.increment(isHit ? dataCacheHitKey(id.market_type) : dataCacheMissKey(id.market_type));
  return [
    requireRead(deps.access),
    compressAnswers(),
    async function readData(c) {
      const id = datasetFromQuery(c);
      const format = wantedFormat(c);
      c.header("X-Cache-Key", datasetKey(id));
      const found = await cache.lookup(id);
      if (!found.hit) return miss(c, found, () => count(id, false));
      const { meta } = found;
      const tag = entityTagOf(meta, format);
      const validators = { ETag: tag, "Cache-Control": cacheControlOf(cache.expiresAtOf(meta), clock.now(), shared) };
      if (matchesIfNoneMatch(c.req.header("If-None-Match"), tag)) {
        hit(c, () => count(id, true));
        return c.body(null, 304, validators);
      }
      if (format === "json") {
        const read = await cache.openRowsJson(id, { maxCsvBytes: inlineMaxBytes, meta });
        if (!read.hit) return miss(c, read, () => count(id, false));
        hit(c, () => count(id, true));
        if ("stream" in read.json) {
          const body = successWithRowsStream({ meta }, read.json.stream);
          return c.body(streamOfGenerator(body), 200, { ...validators, "Content-Type": "application/json" });
        }
        const body = successWithRows({ meta }, read.json.chunks);
        return c.body(streamOf(body.chunks), 200, {
          ...validators,
          "Content-Type": "application/json",
          "Content-Length": String(body.sizeBytes),
        });
      }
      if (isColumnar(format)) {
        const kept = await cache.openForm(id, meta, format);
        if (kept) {
          hit(c, () => count(id, true));
          c.header(FORM_HEADERS[format], "HIT");
          if (inlineMaxBytes !== undefined && kept.sizeBytes > inlineMaxBytes) {
            await kept.stream.cancel();
            const url = await cache.formUrl(id, meta, format, presignTtlSeconds);
            if (!url) throw directTransferUnavailable();
            c.header("Cache-Control", "no-store");
            return c.redirect(url, 303);
          }
          return c.body(kept.stream, 200, {
            ...validators,
            "Content-Type": MEDIA_TYPES[format],
            "Content-Length": String(kept.sizeBytes),
            "Content-Disposition": `inline; filename="${datasetKey(id)}.${format}"`,
          });
        }
      }
      const read = await cache.openCsv(id, { meta });
      if (!read.hit) return miss(c, read, () => count(id, false));
      hit(c, () => count(id, true));
      if (isColumnar(format)) {
        // Not made yet (its writer's job makes it right after the write): converted on the fly in a conversion slot,
        // and not kept. On Lambda, what is too large to answer inline waits for the kept form, which redirects.
        c.header(FORM_HEADERS[format], "MISS");
        if (inlineMaxBytes !== undefined && read.csv.sizeBytes > inlineMaxBytes) {
          await read.csv.stream.cancel();
          throw conversions.busy(`The ${format} form of this entry is being made; ask again`);
        }
        const csv = reopen(read.csv.stream, () => cache.openCsv(id, { meta }));
        const waits = conversions.waitSignal(lambdaDeadlineOf(c, clock)?.signal);
        const body = await conversions
          .stream(async () => (await loadColumnar()).columnarOf(format, csv), waits)
          .catch(async (error: unknown) => {
            await read.csv.stream.cancel().catch(() => undefined);
            throw error;
          });
        return c.body(streamOfGenerator(body), 200, {
          ...validators,
          "Content-Type": MEDIA_TYPES[format],
          "Content-Disposition": `inline; filename="${datasetKey(id)}.${format}"`,
        });
      }
      if (inlineMaxBytes !== undefined && read.csv.sizeBytes > inlineMaxBytes) {
        await read.csv.stream.cancel();
        const url = await cache.downloadUrl(id, presignTtlSeconds);
        if (!url) throw directTransferUnavailable();
        c.header("Cache-Control", "no-store");
        return c.redirect(url, 303);
      }
      return c.body(read.csv.stream, 200, {
        ...validators,
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Length": String(read.csv.sizeBytes),
        "Content-Disposition": `inline; filename="${datasetKey(id)}.csv"`,
      });
    },
  ];
}

/** PUT data: stores a CSV (or JSON rows, written as the original's CSV), replacing any entry of the same id, in its turn. */
export function storeData(deps: Pick<AppDeps, "cache" | "access" | "maxBodyBytes">): RouteChain {
  return [
    requireWrite(deps.access),
    limitBody(deps.maxBodyBytes),
    async function storeData(c) {
      const id = datasetFromQuery(c);
      const meta = await deps.cache.write(id, await csvBody(c));
      c.header("X-Cache-Key", meta.cache_key);
      return c.json(success({ meta }), 201);
    },
  ];
}

/** DELETE data: removes both objects of the entry. */
export function deleteData(deps: Pick<AppDeps, "cache" | "access">): RouteChain {
  return [
    requireWrite(deps.access),
    async function deleteData(c) {
      const id = datasetFromQuery(c);
      c.header("X-Cache-Key", datasetKey(id));
      if (!(await deps.cache.remove(id))) throw new NotFoundError("No cache entry for these parameters");
      return c.json(success({ cache_key: datasetKey(id), deleted: true }));
    },
  ];
}

/**
 * POST upload-url: a presigned PUT URL for a CSV too big for a Lambda request, of `size_bytes` (at most
 * MAX_BODY_MB), to a staging object of its own; committed after with its `upload_id`.
 */
export function uploadUrl(deps: Pick<AppDeps, "cache" | "access" | "presignTtlSeconds" | "maxBodyBytes">): RouteChain {
  const { presignTtlSeconds, maxBodyBytes } = deps;
  return [
    requireWrite(deps.access),
    async function uploadUrl(c) {
      const id = datasetFromQuery(c);
      const sizeBytes = uploadSizeFromQuery(c, maxBodyBytes);
      const upload = await deps.cache.uploadUrl(id, sizeBytes, presignTtlSeconds);
      if (!upload) throw directTransferUnavailable();
      return c.json(
        success({
          cache_key: datasetKey(id),
          upload_id: upload.uploadId,
          method: "PUT",
          url: upload.url,
          headers: upload.headers,
          expires_in_seconds: presignTtlSeconds,
        }),
      );
    },
  ];
}

/** POST commit: checks the uploaded CSV (`upload_id`) in one streaming pass, then moves it into place in its turn. */
export function commit(deps: Pick<AppDeps, "cache" | "access" | "maxBodyBytes">): RouteChain {
  return [
    requireWrite(deps.access),
    async function commit(c) {
      const id = datasetFromQuery(c);
      const meta = await deps.cache.commitUpload(id, uploadIdFromQuery(c), deps.maxBodyBytes);
      if (!meta) {
        throw new NotFoundError("Nothing waits to be committed under this upload_id: PUT the CSV to its upload URL first (an upload commits once)");
      }
      c.header("X-Cache-Key", meta.cache_key);
      return c.json(success({ meta }), 201);
    },
  ];
}

/** Marks the answer a hit, and counts it. */
function hit(c: Context<AppEnv>, count: () => void): void {
  count();
  c.set("cacheOutcome", "hit");
  c.header("X-Cache", "HIT");
}

/** Counts a miss and answers 404 CACHE_MISS. */
function miss(c: Context<AppEnv>, found: Extract<Lookup<object>, { hit: false }>, count: () => void): never {
  count();
  c.set("cacheOutcome", found.reason);
  c.header("X-Cache", "MISS");
  throw new NotFoundError(found.reason === "expired" ? "The cache entry has expired" : "No cache entry for these parameters", "CACHE_MISS");
}

/** The body as dataset CSV bytes: stored as sent when CSV, serialized the original's way when JSON rows. */
async function csvBody(c: Context<AppEnv>): Promise<Uint8Array> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type === "text/csv" || type === "application/csv") return new Uint8Array(await c.req.arrayBuffer());
  if (type === "application/json") {
    let rows: unknown;
    try {
      rows = JSON.parse(await c.req.text());
    } catch {
      throw new InvalidBodyError("Body is not valid JSON");
    }
    return new TextEncoder().encode(rowsToCsv(rows));
  }
  throw new UnsupportedMediaTypeError(
    `Content-Type must be text/csv or application/json, not ${JSON.stringify(type || "(none)")}`,
  );
}

/** Says whether a columnar answer was the kept form (HIT) or converted for this request (MISS). */
const FORM_HEADERS = { parquet: "X-Parquet", arrow: "X-Arrow" } as const;

/**
 * The CSV as a source the columnar forms read twice: the stream already open first, then a fresh read of the same
 * proven entry (a CSV replaced between the two reads is a miss, never a mix).
 */
function reopen(
  first: ReadableStream<Uint8Array>,
  again: () => Promise<Lookup<{ csv: { stream: ReadableStream<Uint8Array> } }>>,
): CsvSource {
  let opened: ReadableStream<Uint8Array> | null = first;
  return async () => {
    const stream = opened ?? (await reread(again));
    opened = null;
    return stream as unknown as AsyncIterable<Uint8Array>;
  };
}

async function reread(again: () => Promise<Lookup<{ csv: { stream: ReadableStream<Uint8Array> } }>>): Promise<ReadableStream<Uint8Array>> {
  const found = await again();
  if (!found.hit) throw new StorageUnavailableError("The entry changed while it was being converted; ask again");
  return found.csv.stream;
}

function directTransferUnavailable(): AppError {
  return new AppError(
    "DIRECT_TRANSFER_UNAVAILABLE",
    "Direct transfers need STORAGE_DRIVER=s3; with this store, PUT and GET /api/v1/backtest/cache/data directly",
  );
}
