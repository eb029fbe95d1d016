import { Hono, type Context } from "hono";
import { type DatasetId } from "../../market.js";
import { datasetKey } from "../../cache/key.js";
import { rowsToCsv } from "../../cache/csv.js";
import type { Lookup } from "../../cache/data-cache.js";
import type { RowsJson } from "../../cache/json-rows.js";
import type { CacheMeta } from "../../cache/meta.js";
import { dataCacheHitKey, dataCacheMissKey } from "../../counters/keys.js";
import { AppError, InvalidBodyError, UnsupportedMediaTypeError } from "../../errors.js";
import { failure, success } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead, requireWrite } from "../middleware/auth.js";
import { limitBody } from "../middleware/body.js";
import { datasetFromQuery, wantedFormat } from "../validation.js";
import { streamOf } from "../stream.js";

/** One dataset: read it (JSON rows or the CSV bytes), store it, delete it; and direct transfers on S3. */
export function dataRoutes(deps: AppDeps): Hono<AppEnv> {
  const { cache, inlineMaxBytes, presignTtlSeconds } = deps;
  /** One INCRBY per read, bounded by the counters' short timeout; it never fails the request. */
  const count = (id: DatasetId, isHit: boolean) =>
    deps.counters.increment(isHit ? dataCacheHitKey(id.market_type) : dataCacheMissKey(id.market_type));
  const app = new Hono<AppEnv>();
  const guard = requireWrite(deps.access);

  app.get("/data", requireRead(deps.access), async (c) => {
    const id = datasetFromQuery(c);
    const format = wantedFormat(c);
    c.header("X-Cache-Key", datasetKey(id));
    if (format === "json") {
      const found = await cache.readRowsJson(id, { maxCsvBytes: inlineMaxBytes });
      await count(id, found.hit);
      if (!found.hit) return miss(c, found);
      hit(c);
      return rowsAnswer(c, found.meta, found.json);
    }
    const found = await cache.openCsv(id);
    await count(id, found.hit);
    if (!found.hit) return miss(c, found);
    hit(c);
    if (inlineMaxBytes !== undefined && found.csv.sizeBytes > inlineMaxBytes) {
      await found.csv.stream.cancel();
      return redirectToObject(c, id);
    }
    return c.body(found.csv.stream, 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Length": String(found.csv.sizeBytes),
      "Content-Disposition": `inline; filename="${datasetKey(id)}.csv"`,
    });
  });

  app.put("/data", guard, limitBody(deps.maxBodyBytes), async (c) => {
    const id = datasetFromQuery(c);
    const meta = await cache.write(id, await csvBody(c));
    c.header("X-Cache-Key", meta.cache_key);
    return c.json(success({ meta }), 201);
  });

  app.delete("/data", guard, async (c) => {
    const id = datasetFromQuery(c);
    c.header("X-Cache-Key", datasetKey(id));
    if (!(await cache.remove(id))) {
      return c.json(failure("NOT_FOUND", "No cache entry for these parameters"), 404);
    }
    return c.json(success({ cache_key: datasetKey(id), deleted: true }));
  });

  app.post("/upload-url", guard, async (c) => {
    const id = datasetFromQuery(c);
    const url = await cache.uploadUrl(id, presignTtlSeconds);
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
  });

  app.post("/commit", guard, async (c) => {
    const id = datasetFromQuery(c);
    const meta = await cache.commitUpload(id);
    if (!meta) {
      return c.json(failure("NOT_FOUND", "Nothing was uploaded for these parameters; PUT the CSV to the upload URL first"), 404);
    }
    c.header("X-Cache-Key", meta.cache_key);
    return c.json(success({ meta }), 201);
  });

  async function redirectToObject(c: Context<AppEnv>, id: DatasetId): Promise<Response> {
    const url = await cache.downloadUrl(id, presignTtlSeconds);
    if (!url) throw directTransferUnavailable();
    c.header("Cache-Control", "no-store");
    return c.redirect(url, 303);
  }

  return app;
}

/**
 * What `c.json(success({ meta, rows }))` answers, byte for byte, with the rows' JSON already written: streamed from
 * its chunks rather than built as one string.
 */
function rowsAnswer(c: Context<AppEnv>, meta: CacheMeta, rows: RowsJson): Response {
  const encoder = new TextEncoder();
  const head = encoder.encode(`{"status":"success","data":{"meta":${JSON.stringify(meta)},"rows":`);
  const chunks = [head, ...rows.chunks, encoder.encode("}}")];
  const sizeBytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return c.body(streamOf(chunks), 200, { "Content-Type": "application/json", "Content-Length": String(sizeBytes) });
}

function hit(c: Context<AppEnv>): void {
  c.set("cacheOutcome", "hit");
  c.header("X-Cache", "HIT");
}

function miss(c: Context<AppEnv>, found: Extract<Lookup<object>, { hit: false }>): Response {
  c.set("cacheOutcome", found.reason);
  c.header("X-Cache", "MISS");
  const why = found.reason === "expired" ? "The cache entry has expired" : "No cache entry for these parameters";
  return c.json(failure("CACHE_MISS", why), 404);
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
