import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { serve } from "@hono/node-server";
import { createDataCache } from "../src/cache/data-cache.js";
import { createDeriver } from "../src/jobs/derive.js";
import { csvKeyOf, metaKeyOf } from "../src/cache/entries/objects.js";
import type { DatasetId } from "../src/market.js";
import { buildMeta, serializeMeta } from "../src/cache/entries/meta.js";
import { formatCachedAt } from "../src/time.js";
import { systemClock } from "../src/clock.js";
import { loadConfig } from "../src/app/config.js";
import { createDeps } from "../src/app/deps.js";
import { createApp } from "../src/http/all-routes.js";
import { createLog } from "../src/log.js";
import { createS3Store } from "../src/storage/s3.js";
import type { ObjectStore } from "../src/storage/types.js";
import { mapLimit } from "../src/util/map-limit.js";
import { countingStore } from "./counting-store.js";
import { klinesCsv } from "./klines.js";

export type DriverName = "fs" | "s3";

const CREDENTIALS = { accessKeyId: "bench", secretAccessKey: "bench" };
const REGION = "us-east-1";
const TIMEOUT_MS = 10_000;
const SEED_CONCURRENCY = 32;
/** DataCache's default for info. */
const INFO_CONCURRENCY = 32;

/**
 * The app as the local server builds it (src/deps.ts: default config, in-memory counters), with its cache on a
 * counted store (fs in a temp folder, or a fresh moto bucket), served on a free loopback port.
 */
export async function startDriver(name: DriverName, options: { s3Endpoint: string }) {
  const dir = mkdtempSync(join(tmpdir(), "candle-cache-bench-"));
  const s3Counts: Record<string, number> = {};
  const config = loadConfig({ STORAGE_DRIVER: "fs", CACHE_DIR: dir });
  // Access-log lines are built as in production, then dropped rather than written to the terminal.
  const log = createLog({ level: config.logLevel, write: () => undefined });
  const deps = createDeps(config, { runtime: "local", log });
  const raw = name === "fs" ? deps.store : await s3Store(options.s3Endpoint, s3Counts);
  const counted = countingStore(raw);
  const cache = createDataCache({
    store: counted.store,
    clock: deps.clock,
    rule: { recentWindowDays: config.recentWindowDays, recentTtlSeconds: config.recentTtlSeconds },
    // As the local server: each entry written gets its derived forms in the background.
    onCommitted: (id) => deriver.schedule(id),
  });
  const deriver = createDeriver({ cache, store: counted.store, conversions: deps.conversions, log });
  const app = createApp({ ...deps, cache });
  const { server, port } = await listen(app.fetch);

  return {
    url: `http://127.0.0.1:${port}`,
    cache,
    /** The maker of derived forms: `idle()` resolves once every entry written has its Parquet and Arrow forms. */
    deriver,
    /** The store itself, uncounted: to write what the service would not (entries as older versions stored them). */
    store: raw,
    counts: {
      reset() {
        counted.reset();
        for (const command of Object.keys(s3Counts)) delete s3Counts[command];
      },
      /** Calls since the last reset divided by `calls`: store operations, then S3 requests by command. */
      perCall(calls: number): Record<string, number> {
        const all = { ...counted.counts, ...prefixed("S3 ", s3Counts) };
        return Object.fromEntries(Object.entries(all).map(([what, count]) => [what, count / calls]));
      },
    },
    /** The floor: the entry's CSV bytes read straight from the store, as a stream, to the end. */
    async drainCsv(id: DatasetId): Promise<number> {
      const found = await raw.getStream(csvKeyOf(id));
      if (!found) throw new Error(`${name}: no CSV for ${JSON.stringify(id)}`);
      let sizeBytes = 0;
      for await (const chunk of found.stream as unknown as AsyncIterable<Uint8Array>) sizeBytes += chunk.length;
      return sizeBytes;
    },
    /** The info floor: one listing, then every meta read at info's concurrency, straight from the store. */
    async readAllMetas(): Promise<number> {
      const metaKeys = (await raw.list()).map((object) => object.key).filter((key) => key.endsWith("_meta.json"));
      const metas = await mapLimit(metaKeys, INFO_CONCURRENCY, (key) => raw.get(key));
      return metas.length;
    },
    /** Writes `count` small committed entries straight to the store (CSV, then meta), as a full cache holds. */
    async seedEntries(count: number): Promise<void> {
      const csv = klinesCsv(60);
      const sha256 = createHash("sha256").update(csv).digest("hex");
      const cachedAt = formatCachedAt(systemClock.now());
      await mapLimit(Array.from({ length: count }, (_, i) => seedId(i)), SEED_CONCURRENCY, async (id) => {
        const version = await raw.put(csvKeyOf(id), csv, { contentType: "text/csv" });
        const meta = buildMeta(id, { rows: 60, csvBytes: csv.length, sha256, version }, cachedAt);
        await raw.put(metaKeyOf(id), serializeMeta(meta), { contentType: "application/json" });
      });
    },
    async close(): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The i-th of many distinct past datasets: 20 symbols, one day each. */
function seedId(i: number): DatasetId {
  const day = new Date(Date.UTC(2020, 0, 1) + Math.floor(i / 20) * 86_400_000).toISOString().slice(0, 10);
  return { symbol: `SYM${i % 20}USDT`, interval: "1m", start_date: day, end_date: day, market_type: "spot" };
}

/**
 * An S3 store on a fresh bucket of the moto server. Its client is built as createS3Store builds its own, plus a
 * middleware that counts every HTTP request (each retry too) by command.
 */
async function s3Store(endpoint: string, counts: Record<string, number>): Promise<ObjectStore> {
  const client = new S3Client({
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      connectionTimeout: TIMEOUT_MS,
      requestTimeout: TIMEOUT_MS,
      throwOnRequestTimeout: true,
      socketTimeout: TIMEOUT_MS,
    },
  });
  const bucket = `bench-${Date.now()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, "");
      counts[command] = (counts[command] ?? 0) + 1;
      return next(args);
    },
    { step: "finalizeRequest", priority: "low" },
  );
  return createS3Store({ bucket, prefix: "cache/data", client, timeoutMs: TIMEOUT_MS });
}

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    ) as Server;
  });
}

function prefixed(prefix: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [prefix + key, value]));
}
