import type { Hono } from "hono";
import { ALL_HTTP_FUNCTIONS, appOf, type AppOptions } from "./app.js";
import type { AppDeps, AppEnv } from "./env.js";
import { adminPage, health } from "./routes/admin-page.js";
import { binanceApi } from "./routes/binance.js";
import { clear, coverage, info, sweep } from "./routes/cache.js";
import { commit, deleteData, readData, storeData, uploadUrl } from "./routes/data.js";
import { funding } from "./routes/funding.js";
import { klines } from "./routes/klines.js";
import { metrics } from "./routes/metrics.js";
import { symbols } from "./routes/symbols.js";

/** The whole HTTP API on one app, every function's routes: what the local server serves, and the tests drive. */
export function createApp(deps: AppDeps, options: AppOptions = {}): Hono<AppEnv> {
  return appOf(ALL_HTTP_FUNCTIONS, deps, {
    readData: readData(deps),
    storeData: storeData(deps),
    deleteData: deleteData(deps),
    uploadUrl: uploadUrl(deps),
    commit: commit(deps),
    info: info(deps),
    coverage: coverage(deps),
    clear: clear(deps),
    sweep: sweep(deps),
    symbols: symbols(deps),
    metrics: metrics(deps),
    klines: klines(deps),
    funding: funding(deps),
    ...binanceApi(deps),
    adminPage: adminPage(deps),
    health: health(),
  }, options);
}
