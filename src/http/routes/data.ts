import type { Context } from "hono";
import { rowsToCsv } from "../../csv/check.js";
import type { Lookup } from "../../cache/data-cache.js";
import { datasetKey } from "../../cache/entries/key.js";
import { dataCacheHitKey, dataCacheMissKey } from "../../counters/keys.js";
import {
  InvalidBodyError,
  NotFoundError,
  PayloadTooLargeError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
} from "../../errors.js";
import type { DatasetId } from "../../market.js";
import type { RouteChain } from "../app.js";
import { answerSource, directTransferUnavailable, redirectToStore } from "../answer/answer.js";
import type { CsvBackedSource } from "../answer/source.js";
import { success } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead, requireWrite } from "../middleware/auth.js";
import { limitBody } from "../middleware/body.js";
import { compressAnswers } from "../middleware/compress.js";
import { isColumnar } from "../../formats/media.js";
import { cacheControlOf, entityTagOf } from "../revalidation.js";
import { lambdaDeadlineOf } from "../request-deadline.js";
import { datasetFromQuery, uploadIdFromQuery, uploadSizeFromQuery, wantedFormat } from "../validation.js";

/**
 * GET data: a hit in any format, answered by the pipeline (answer/answer.ts): JSON rows, the stored CSV bytes, or
 * its Parquet or Arrow form (kept beside it by its writer, or converted for the request until then); on Lambda a
 * large CSV or kept form redirects to the store. Every hit carries an ETag and a Cache-Control; a client whose copy
 * has the ETag gets 304, and nothing beyond the meta is read for it.
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
      /** The first read of the CSV decides hit or miss; a later one (a conversion's second pass) only fails. */
      let reads = 0;
      const source: CsvBackedSource = {
        name: datasetKey(id),
        tagOf: (representation) => entityTagOf(meta, representation),
        cacheControl: cacheControlOf(cache.expiresAtOf(meta), clock.now(), shared),
        jsonFields: () => ({ meta }),
        async csv() {
          const read = await cache.openCsv(id, { meta });
          if (read.hit) return read.csv;
          if (reads++ === 0) return miss(c, read, () => count(id, false));
          throw new StorageUnavailableError("The entry changed while it was being read; ask again");
        },
        async rowsJson(maxCsvBytes) {
          const read = await cache.openRowsJson(id, { maxCsvBytes, meta });
          if (!read.hit) return miss(c, read, () => count(id, false));
          return "stream" in read.json ? { stream: read.json.stream, rows: meta.rows } : read.json;
        },
        kept: (form) => cache.openForm(id, meta, form),
        keptUrl: (form) => cache.formUrl(id, meta, form, presignTtlSeconds),
        async tooLarge(representation) {
          if (representation === "csv") return redirectToStore(c, await cache.downloadUrl(id, presignTtlSeconds));
          // Not made yet: its writer's job makes it right after the write, and the kept form redirects.
          if (isColumnar(representation)) throw conversions.busy(`The ${representation} form of this entry is being made; ask again`);
          if (representation === "feather") {
            throw new PayloadTooLargeError(
              `The Feather answer is over the ${inlineMaxBytes} bytes answered inline here; ask with format=arrow or format=parquet to be redirected to the form kept in the store`,
            );
          }
          throw new PayloadTooLargeError(
            `The JSON answer is over the ${inlineMaxBytes} bytes answered inline here; ask with format=csv (or Accept: text/csv) to be redirected to a download URL`,
          );
        },
        served: () => hit(c, () => count(id, true)),
      };
      return answerSource(c, source, format, { inlineMaxBytes, conversions, deadline: lambdaDeadlineOf(c, clock)?.signal });
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
