import type { Context } from "hono";
import { rowsToCsv } from "../../cache/csv.js";
import type { Lookup } from "../../cache/data-cache.js";
import { datasetKey } from "../../cache/key.js";
import { dataCacheHitKey, dataCacheMissKey } from "../../counters/keys.js";
import { AppError, InvalidBodyError, NotFoundError, UnsupportedMediaTypeError } from "../../errors.js";
import type { DatasetId } from "../../market.js";
import type { RouteChain } from "../app.js";
import { success, successWithRows } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead, requireWrite } from "../middleware/auth.js";
import { limitBody } from "../middleware/body.js";
import { streamOf } from "../stream.js";
import { datasetFromQuery, wantedFormat } from "../validation.js";

/** GET data: a hit as JSON rows or the stored CSV bytes, streamed; on Lambda a large CSV redirects to the store. */
export function readData(
  deps: Pick<AppDeps, "cache" | "counters" | "access" | "inlineMaxBytes" | "presignTtlSeconds">,
): RouteChain {
  const { cache, counters, inlineMaxBytes, presignTtlSeconds } = deps;
  /** One INCRBY per read, bounded by the counters' short timeout; it never fails the request. */
  const count = (id: DatasetId, isHit: boolean) =>
    counters.increment(isHit ? dataCacheHitKey(id.market_type) : dataCacheMissKey(id.market_type));
  return [
    requireRead(deps.access),
    async function readData(c) {
      const id = datasetFromQuery(c);
      const format = wantedFormat(c);
      c.header("X-Cache-Key", datasetKey(id));
      if (format === "json") {
        const found = await cache.readRowsJson(id, { maxCsvBytes: inlineMaxBytes });
        await count(id, found.hit);
        if (!found.hit) return miss(c, found);
        hit(c);
        const body = successWithRows({ meta: found.meta }, found.json.chunks);
        return c.body(streamOf(body.chunks), 200, { "Content-Type": "application/json", "Content-Length": String(body.sizeBytes) });
      }
      const found = await cache.openCsv(id);
      await count(id, found.hit);
      if (!found.hit) return miss(c, found);
      hit(c);
      if (inlineMaxBytes !== undefined && found.csv.sizeBytes > inlineMaxBytes) {
        await found.csv.stream.cancel();
        const url = await cache.downloadUrl(id, presignTtlSeconds);
        if (!url) throw directTransferUnavailable();
        c.header("Cache-Control", "no-store");
        return c.redirect(url, 303);
      }
      return c.body(found.csv.stream, 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Length": String(found.csv.sizeBytes),
        "Content-Disposition": `inline; filename="${datasetKey(id)}.csv"`,
      });
    },
  ];
}

/** PUT data: stores a CSV (or JSON rows, written as the original's CSV), replacing any entry of the same id. */
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

/** POST upload-url: a presigned PUT URL for a CSV too big for a Lambda request, to be committed after. */
export function uploadUrl(deps: Pick<AppDeps, "cache" | "access" | "presignTtlSeconds">): RouteChain {
  const { presignTtlSeconds } = deps;
  return [
    requireWrite(deps.access),
    async function uploadUrl(c) {
      const id = datasetFromQuery(c);
      const url = await deps.cache.uploadUrl(id, presignTtlSeconds);
      if (!url) throw directTransferUnavailable();
      return c.json(
        success({
          cache_key: datasetKey(id),
          method: "PUT",
          url,
          headers: { "Content-Type": "text/csv" },
          expires_in_seconds: presignTtlSeconds,
        }),
      );
    },
  ];
}

/** POST commit: checks the uploaded CSV in one streaming pass, then commits its entry. */
export function commit(deps: Pick<AppDeps, "cache" | "access">): RouteChain {
  return [
    requireWrite(deps.access),
    async function commit(c) {
      const id = datasetFromQuery(c);
      const meta = await deps.cache.commitUpload(id);
      if (!meta) throw new NotFoundError("Nothing was uploaded for these parameters; PUT the CSV to the upload URL first");
      c.header("X-Cache-Key", meta.cache_key);
      return c.json(success({ meta }), 201);
    },
  ];
}

function hit(c: Context<AppEnv>): void {
  c.set("cacheOutcome", "hit");
  c.header("X-Cache", "HIT");
}

function miss(c: Context<AppEnv>, found: Extract<Lookup<object>, { hit: false }>): never {
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

function directTransferUnavailable(): AppError {
  return new AppError(
    "DIRECT_TRANSFER_UNAVAILABLE",
    "Direct transfers need STORAGE_DRIVER=s3; with this store, PUT and GET /api/v1/backtest/cache/data directly",
  );
}
