import * as z from "zod/mini";
import { ConfigError } from "../errors.js";
import { parseHost, type HostName } from "../util/host.js";
import {
  BINANCE_FUTURES_TESTNET_URL,
  BINANCE_FUTURES_URL,
  BINANCE_SPOT_TESTNET_URL,
  BINANCE_SPOT_URL,
} from "../upstream/binance.js";
import { BINANCE_ARCHIVE_URL } from "../upstream/archive.js";

/** Everything the service reads from its environment, typed. The only reader of process.env. */
export interface Config {
  port: number;
  /** Address the local server listens on. */
  host: string;
  /**
   * Names the local server answers to in the Host header besides the loopback names and `host` on its port (each on
   * any port, or on the one it gives); any other Host is refused (DNS rebinding).
   */
  allowedHosts: HostName[];
  storageDriver: "fs" | "s3";
  /** fs driver: the cache folder. */
  cacheDir: string;
  /** s3 driver: bucket and key prefix of the cache directory. */
  s3Bucket: string | undefined;
  s3Prefix: string;
  /** s3 driver: endpoint of an S3-compatible server (moto_server, LocalStack, MinIO); path-style is used. */
  s3Endpoint: string | undefined;
  awsRegion: string;
  /** Time limit of one storage call. */
  storageTimeoutMs: number;
  /**
   * On Lambda: the fill function, which the klines function (read-only) asks for the partitions a range lacks;
   * unset: the klines function fetches and writes them itself, and its role needs s3:PutObject.
   */
  fillFunctionName: string | undefined;
  /** Endpoint of the Lambda API the fill is asked through (LocalStack, a test's stand-in); AWS's by default. */
  lambdaEndpoint: string | undefined;
  /** When set, writes (PUT, DELETE, clear, sweep, upload, commit) and klines fetches need `Authorization: Bearer <token>`. */
  cacheApiToken: string | undefined;
  /** When set, every read needs `Authorization: Bearer <token>` (this one or the write token). */
  cacheReadToken: string | undefined;
  /** Deployed without a write token, writes are closed (403) unless this opens them on purpose. */
  allowOpenWrites: boolean;
  maxBodyBytes: number;
  /** Entries whose end_date is at most this many days before today expire ... */
  recentWindowDays: number;
  /** ... this many seconds after they were cached. Older entries never expire. */
  recentTtlSeconds: number;
  /** On Lambda with s3: answers larger than this redirect to a presigned URL. */
  inlineMaxBytes: number;
  presignTtlSeconds: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** Upstash Redis for counters and symbol lists; without it, both live in process memory. */
  upstash: { url: string; token: string } | undefined;
  /** Bound of one counter call (a lost count is better than a slow request). */
  countersTimeoutMs: number;
  binanceSpotUrl: string;
  binanceFuturesUrl: string;
  binanceTimeoutMs: number;
  /** Binance's public archive (data.binance.vision); undefined: not used, REST only. */
  binanceArchiveUrl: string | undefined;
  /** Life of the cached symbol lists; always longer than the warmup interval. */
  symbolsCacheTtlSeconds: number;
  warmupIntervalSeconds: number;
  sweepIntervalSeconds: number;
  /** Time budget of one klines request on the local server (on Lambda: the function's remaining time less a margin). */
  klinesDeadlineMs: number;
  /** A partition that misses candles without proof from the exchange is asked again at most this often. */
  klinesRecheckSeconds: number;
  /** Conversions of a CSV to Parquet or Arrow running at once in one process; others wait, then 503. */
  conversionsMax: number;
  /** Clear the whole cache when the local server starts (the original's behaviour; off by default). */
  clearOnStart: boolean;
}

type Env = Record<string, string | undefined>;

const MB = 1024 * 1024;

const number = (message: string) => z.coerce.number({ error: message });
const positiveInt = (max = Number.MAX_SAFE_INTEGER) =>
  number("must be a whole number").check(z.int({ error: "must be a whole number" }), z.positive("must be above 0"), z.lte(max, `must be at most ${max}`));
const positive = number("must be a number").check(z.positive("must be above 0"));
const nonNegative = number("must be a number").check(z.nonnegative("must not be negative"));
const flag = z.pipe(z.enum(["true", "false", "1", "0"], { error: "must be true or false" }), z.transform((v) => v === "true" || v === "1"));
const url = z.url({ error: "must be a URL, like http://127.0.0.1:4566" });
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(", ")}` });
const withDefault = <T extends z.ZodMiniType>(schema: T, value: z.output<T>) => z._default(schema, value as never);

/** One entry per variable: its schema (with default). Empty strings count as unset. */
const schema = z.object({
  PORT: withDefault(positiveInt(65535), 3000),
  HOST: withDefault(z.string(), "127.0.0.1"),
  ALLOWED_HOSTS: withDefault(z.string(), ""),
  STORAGE_DRIVER: withDefault(oneOf(["fs", "s3"]), "fs"),
  CACHE_DIR: withDefault(z.string(), "./cache/data"),
  S3_BUCKET: z.optional(z.string()),
  S3_PREFIX: withDefault(z.string(), "cache/data"),
  AWS_ENDPOINT_URL: z.optional(url),
  S3_ENDPOINT: z.optional(url),
  AWS_REGION: withDefault(z.string(), "us-east-1"),
  STORAGE_TIMEOUT_MS: withDefault(positiveInt(), 10_000),
  FILL_FUNCTION_NAME: z.optional(z.string()),
  LAMBDA_ENDPOINT: z.optional(url),
  CACHE_API_TOKEN: z.optional(z.string()),
  CACHE_READ_TOKEN: z.optional(z.string()),
  ALLOW_OPEN_WRITES: withDefault(flag, false),
  MAX_BODY_MB: withDefault(positive, 128),
  RECENT_WINDOW_DAYS: withDefault(nonNegative, 1),
  RECENT_TTL_SECONDS: withDefault(nonNegative, 86_400),
  INLINE_MAX_MB: withDefault(positive, 5),
  PRESIGN_TTL_SECONDS: withDefault(positiveInt(604_800), 300),
  LOG_LEVEL: withDefault(oneOf(["debug", "info", "warn", "error", "silent"]), "info"),
  UPSTASH_REDIS_REST_URL: z.optional(url),
  UPSTASH_REDIS_REST_TOKEN: z.optional(z.string()),
  COUNTERS_TIMEOUT_MS: withDefault(positiveInt(), 300),
  BINANCE_SPOT_URL: z.optional(url),
  BINANCE_FUTURES_URL: z.optional(url),
  BINANCE_TESTNET: withDefault(flag, false),
  BINANCE_TIMEOUT_MS: withDefault(positiveInt(), 10_000),
  BINANCE_ARCHIVE_URL: z.optional(url),
  SYMBOLS_CACHE_TTL_SECONDS: withDefault(positiveInt(), 600),
  WARMUP_INTERVAL_SECONDS: withDefault(positiveInt(), 300),
  SWEEP_INTERVAL_SECONDS: withDefault(positiveInt(), 86_400),
  KLINES_DEADLINE_MS: withDefault(positiveInt(), 25_000),
  KLINES_RECHECK_SECONDS: withDefault(positiveInt(), 3600),
  CONVERSIONS_MAX: withDefault(positiveInt(64), 2),
  CLEAR_ON_START: withDefault(flag, false),
});

export function loadConfig(env: Env = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(schema.shape).map((name) => [name, env[name] === "" ? undefined : env[name]]),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(present[name])}: ${issue.message}`;
    });
    throw new ConfigError(`Bad environment: ${problems.join("; ")}`);
  }
  const v = parsed.data;
  if (v.STORAGE_DRIVER === "s3" && !v.S3_BUCKET) {
    throw new ConfigError("S3_BUCKET must be set when STORAGE_DRIVER=s3");
  }
  if (v.UPSTASH_REDIS_REST_URL && !v.UPSTASH_REDIS_REST_TOKEN) {
    throw new ConfigError("UPSTASH_REDIS_REST_TOKEN must be set when UPSTASH_REDIS_REST_URL is");
  }
  if (v.SYMBOLS_CACHE_TTL_SECONDS <= v.WARMUP_INTERVAL_SECONDS) {
    throw new ConfigError(
      `SYMBOLS_CACHE_TTL_SECONDS (${v.SYMBOLS_CACHE_TTL_SECONDS}) must be longer than WARMUP_INTERVAL_SECONDS ` +
        `(${v.WARMUP_INTERVAL_SECONDS}), or the symbol lists lapse between warmups`,
    );
  }
  return {
    port: v.PORT,
    host: v.HOST,
    allowedHosts: allowedHostsOf(v.ALLOWED_HOSTS),
    storageDriver: v.STORAGE_DRIVER,
    cacheDir: v.CACHE_DIR,
    s3Bucket: v.S3_BUCKET,
    s3Prefix: v.S3_PREFIX.replace(/^\/+|\/+$/g, ""),
    s3Endpoint: v.S3_ENDPOINT ?? v.AWS_ENDPOINT_URL,
    awsRegion: v.AWS_REGION,
    storageTimeoutMs: v.STORAGE_TIMEOUT_MS,
    fillFunctionName: v.FILL_FUNCTION_NAME,
    lambdaEndpoint: v.LAMBDA_ENDPOINT ?? v.AWS_ENDPOINT_URL,
    cacheApiToken: v.CACHE_API_TOKEN,
    cacheReadToken: v.CACHE_READ_TOKEN,
    allowOpenWrites: v.ALLOW_OPEN_WRITES,
    maxBodyBytes: Math.round(v.MAX_BODY_MB * MB),
    recentWindowDays: v.RECENT_WINDOW_DAYS,
    recentTtlSeconds: v.RECENT_TTL_SECONDS,
    inlineMaxBytes: Math.round(v.INLINE_MAX_MB * MB),
    presignTtlSeconds: v.PRESIGN_TTL_SECONDS,
    logLevel: v.LOG_LEVEL,
    upstash: v.UPSTASH_REDIS_REST_URL
      ? { url: v.UPSTASH_REDIS_REST_URL, token: v.UPSTASH_REDIS_REST_TOKEN as string }
      : undefined,
    countersTimeoutMs: v.COUNTERS_TIMEOUT_MS,
    binanceSpotUrl: v.BINANCE_SPOT_URL ?? (v.BINANCE_TESTNET ? BINANCE_SPOT_TESTNET_URL : BINANCE_SPOT_URL),
    binanceFuturesUrl: v.BINANCE_FUTURES_URL ?? (v.BINANCE_TESTNET ? BINANCE_FUTURES_TESTNET_URL : BINANCE_FUTURES_URL),
    binanceTimeoutMs: v.BINANCE_TIMEOUT_MS,
    // Set empty, the archive is off; unset, the public one, but for the testnets (their candles are not its own).
    binanceArchiveUrl:
      env.BINANCE_ARCHIVE_URL === "" ? undefined : (v.BINANCE_ARCHIVE_URL ?? (v.BINANCE_TESTNET ? undefined : BINANCE_ARCHIVE_URL)),
    symbolsCacheTtlSeconds: v.SYMBOLS_CACHE_TTL_SECONDS,
    warmupIntervalSeconds: v.WARMUP_INTERVAL_SECONDS,
    sweepIntervalSeconds: v.SWEEP_INTERVAL_SECONDS,
    klinesDeadlineMs: v.KLINES_DEADLINE_MS,
    klinesRecheckSeconds: v.KLINES_RECHECK_SECONDS,
    conversionsMax: v.CONVERSIONS_MAX,
    clearOnStart: v.CLEAR_ON_START,
  };
}

/** ALLOWED_HOSTS: comma-separated `host` or `host:port`. */
function allowedHostsOf(text: string): HostName[] {
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const host = parseHost(entry);
      if (host === null) throw new ConfigError(`ALLOWED_HOSTS=${JSON.stringify(text)}: ${JSON.stringify(entry)} is not a host or host:port`);
      return host;
    });
}
