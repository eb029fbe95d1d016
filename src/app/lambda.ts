import { handle } from "hono/aws-lambda";
import type { DataCache } from "../cache/data-cache.js";
import { systemClock } from "../clock.js";
import { deadlineIn, type Deadline } from "../deadline.js";
import { createLambdaAskFill } from "./ask-fill.js";
import { ConfigError } from "../errors.js";
import { loadConfig, type Config } from "./config.js";
import type { Counters } from "../counters/types.js";
import {
  accessOf,
  askingFundingOf,
  askingKlinesOf,
  binanceFundingOf,
  binanceKlinesOf,
  cacheOf,
  conversionsOf,
  createArchiveOf,
  createBinanceOf,
  createCountersOf,
  createKeyValueStoreOf,
  createLeasesOf,
  createStore,
  fundingOf,
  klinesOf,
  logAccess,
  settingsOf,
  symbolsOf,
} from "./deps.js";
import { appOf, type Handlers } from "../http/app.js";
import type { Access } from "../http/access.js";
import type { HttpFunctionName } from "../http/route-table.js";
import type { FundingService } from "../funding/service.js";
import type { KlinesService } from "../klines/service.js";
import { createLog, withLogFields, type Log } from "../log.js";
import type { ObjectStore } from "../storage/types.js";
import type { SymbolService } from "../symbols/service.js";

/**
 * Per-container pieces for the functions, each built on first use and kept for the container's life (a warm
 * invocation pays nothing). A function takes only the pieces its routes use, so its bundle holds only their code.
 * A bad environment fails the cold start with a message naming the variable.
 */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}

export const lambdaConfig = /* @__PURE__ */ once((): Config => loadConfig(process.env));
export const lambdaLog = /* @__PURE__ */ once((): Log => createLog({ level: lambdaConfig().logLevel }));
export const lambdaAccess = /* @__PURE__ */ once((): Access => {
  const access = accessOf(lambdaConfig(), "lambda");
  logAccess(access, lambdaLog());
  return access;
});
/** The settings of the services, from the environment (see settingsOf). */
const lambdaServiceSettings = /* @__PURE__ */ once(() => settingsOf(lambdaConfig(), "lambda"));
/** The cache directory: the bucket and prefix of the environment. */
export const lambdaStore = /* @__PURE__ */ once((): ObjectStore => createStore(lambdaConfig()));
export const lambdaCache = /* @__PURE__ */ once(
  (): DataCache => cacheOf({ store: lambdaStore(), clock: systemClock, leases: lambdaLeases(), log: lambdaLog() }, lambdaServiceSettings()),
);
export const lambdaCounters = /* @__PURE__ */ once((): Counters => createCountersOf(lambdaConfig(), lambdaLog()));
const lambdaKv = /* @__PURE__ */ once(() => createKeyValueStoreOf(lambdaConfig(), systemClock));
const lambdaLeases = /* @__PURE__ */ once(() => createLeasesOf(lambdaConfig(), systemClock));
const lambdaBinance = /* @__PURE__ */ once(() => createBinanceOf(lambdaConfig(), { clock: systemClock, log: lambdaLog() }));
export const lambdaSymbols = /* @__PURE__ */ once(
  (): SymbolService =>
    symbolsOf(
      { binance: lambdaBinance(), kv: lambdaKv(), counters: lambdaCounters(), leases: lambdaLeases(), clock: systemClock, log: lambdaLog() },
      lambdaServiceSettings(),
    ),
);
/** How a function that only reads asks the fill function (FILL_FUNCTION_NAME) for what the cache lacks. */
const lambdaAskFill = /* @__PURE__ */ once(() => {
  const { fillFunctionName, awsRegion, lambdaEndpoint } = lambdaConfig();
  if (!fillFunctionName) throw new ConfigError("FILL_FUNCTION_NAME must be set for the klines function: it asks the fill function for what the cache lacks");
  return createLambdaAskFill({ functionName: fillFunctionName, region: awsRegion, endpoint: lambdaEndpoint });
});
/** The klines function's read-through: it only reads, and asks the fill function for what is missing. */
export const lambdaKlines = /* @__PURE__ */ once(
  (): KlinesService => askingKlinesOf({ leases: lambdaLeases(), clock: systemClock, log: lambdaLog(), askFill: lambdaAskFill() }, lambdaCache(), lambdaServiceSettings()),
);
/** The funding read-through of the klines and binance functions: it only reads, and asks the fill function too. */
export const lambdaFunding = /* @__PURE__ */ once(
  (): FundingService => askingFundingOf({ clock: systemClock, log: lambdaLog(), askFill: lambdaAskFill() }, lambdaCache(), lambdaServiceSettings()),
);
/** Binance's fundingRate endpoint over the funding read-through. */
export const lambdaBinanceFunding = /* @__PURE__ */ once(() => binanceFundingOf({ clock: systemClock }, lambdaFunding()));
/** The Binance-shaped klines: the klines function's read-through, and Binance itself for the candle still forming. */
export const lambdaBinanceKlines = /* @__PURE__ */ once(() =>
  binanceKlinesOf({ binance: lambdaBinance(), clock: systemClock, log: lambdaLog() }, lambdaKlines()),
);
/** The fill function's read-through: it fetches what is missing from Binance and writes it. */
export const lambdaFillKlines = /* @__PURE__ */ once(
  (): KlinesService =>
    klinesOf(
      { binance: lambdaBinance(), archive: createArchiveOf(lambdaConfig()), kv: lambdaKv(), leases: lambdaLeases(), clock: systemClock, log: lambdaLog() },
      lambdaCache(),
      lambdaServiceSettings(),
    ),
);

/** The fill function's funding read-through: it fetches what is missing from Binance and writes it. */
export const lambdaFillFunding = /* @__PURE__ */ once(
  (): FundingService =>
    fundingOf({ binance: lambdaBinance(), leases: lambdaLeases(), clock: systemClock, log: lambdaLog() }, lambdaCache(), lambdaServiceSettings()),
);

/** What Lambda hands a handler beside the event, as far as it is read here. */
interface LambdaContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

let coldStart = true;

/** Runs one invocation with Lambda's request id and whether this container was cold on every log line it writes. */
function invocation<T>(context: LambdaContext | undefined, work: () => T): T {
  const fields = { request_id: context?.awsRequestId, cold_start: coldStart };
  coldStart = false;
  return withLogFields(fields, work);
}

/** A function's HTTP handler: the app of its own routes (see the route table); any other path answers 404. */
export function httpFunction(fn: HttpFunctionName, handlers: () => Handlers) {
  const serve = handle(appOf([fn], { log: lambdaLog(), clock: systemClock }, handlers()));
  return (event: Parameters<typeof serve>[0], context: Parameters<typeof serve>[1]) => invocation(context, () => serve(event, context));
}

/** A scheduled function's handler: `work` for each EventBridge event, with the same log fields. */
export function scheduledFunction<E, R>(work: (event: E) => Promise<R>) {
  return (event: E, context?: LambdaContext) => invocation(context, () => work(event));
}

/** What is kept of an invoked function's time for answering: its work must end this long before Lambda's timeout. */
const INVOKED_MARGIN_MS = 5_000;

/**
 * The handler of a function invoked by another (Lambda's Invoke API): `work` for the payload, with a deadline that
 * ends before the function's own timeout, so it always answers.
 */
export function invokedFunction<R>(work: (payload: unknown, deadline: Deadline) => Promise<R>) {
  return (payload: unknown, context?: LambdaContext) =>
    invocation(context, () => {
      const remainingMs = context?.getRemainingTimeInMillis?.() ?? 300_000;
      return work(payload, deadlineIn(systemClock, remainingMs - INVOKED_MARGIN_MS));
    });
}

/** What EventBridge hands a function of the bucket's "Object Created" events, as far as it is read here. */
export interface ObjectCreatedEvent {
  id?: string;
  detail: { object: { key: string } };
}

/**
 * The handler of a function told of objects created in the bucket: `work` gets each object's key as the store names
 * it (the cache prefix taken off); a key outside the prefix is not the cache's, and is left alone.
 */
export function objectCreatedFunction<R>(work: (key: string) => Promise<R>) {
  return scheduledFunction(async (event: ObjectCreatedEvent) => {
    const prefix = lambdaConfig().s3Prefix;
    const full = event.detail.object.key;
    const key = prefix ? (full.startsWith(`${prefix}/`) ? full.slice(prefix.length + 1) : null) : full;
    if (key === null) {
      lambdaLog().warn("object_outside_cache", { key: full, event_id: event.id });
      return null;
    }
    return work(key);
  });
}

/** Settings the HTTP routes read, from the environment. */
export const lambdaSettings = /* @__PURE__ */ once(() => {
  const config = lambdaConfig();
  return {
    access: lambdaAccess(),
    maxBodyBytes: config.maxBodyBytes,
    inlineMaxBytes: config.inlineMaxBytes,
    presignTtlSeconds: config.presignTtlSeconds,
    klinesDeadlineMs: config.klinesDeadlineMs,
    conversions: lambdaConversions(),
  };
});

/** This container's bound on conversions to a columnar form. */
export const lambdaConversions = /* @__PURE__ */ once(() => conversionsOf({ clock: systemClock }, lambdaServiceSettings()));
