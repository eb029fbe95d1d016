import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CacheInfo } from "../../src/cache/data-cache.js";
import { csvKeyOf, metaKeyOf } from "../../src/cache/entries/objects.js";
import type { DatasetId } from "../../src/market.js";
import { datasetKey } from "../../src/cache/entries/key.js";
import { serializeMeta } from "../../src/cache/entries/meta.js";
import { symbolsLastRefreshKey } from "../../src/counters/keys.js";
import { klinesCsv, pythonMeta } from "../support/fixtures.js";
import {
  CACHE,
  TOKEN,
  cacheInfo,
  datasetQuery,
  columnTexts,
  newPage as newPageIn,
  openPage as openPageIn,
  putThroughApi,
  startService,
  text,
  type Service,
} from "./service.js";
import { DESKTOP, PHONE, launchChromium, pageSettled, screenshot, watchPage } from "./support.js";

const METRICS = "/api/v1/metrics";

type Seed = DatasetId & { rows: number };
const SEEDS: Seed[] = [
  { symbol: "BTCUSDT", interval: "1m", start_date: "2021-10-22", end_date: "2021-10-23", market_type: "spot", rows: 5 },
  { symbol: "BTCUSDT", interval: "1h", start_date: "2021-01-01", end_date: "2021-01-31", market_type: "futures", rows: 12 },
  { symbol: "ETHUSDT", interval: "1m", start_date: "2021-10-22", end_date: "2021-10-23", market_type: "spot", rows: 3 },
  { symbol: "ETHUSDT", interval: "1d", start_date: "2020-01-01", end_date: "2020-12-31", market_type: "futures", rows: 30 },
  { symbol: "ADAUSDT", interval: "4h", start_date: "2022-03-01", end_date: "2022-03-31", market_type: "futures", rows: 20 },
  // Ends today (the app's clock is 2026-11-25): expires 24 h after it was cached.
  { symbol: "SOLUSDT", interval: "5m", start_date: "2026-11-24", end_date: "2026-11-25", market_type: "spot", rows: 8 },
];
/** A meta no API call could write (its symbol is markup): it must show as text, and run nothing. */
const HOSTILE_SYMBOL = `<img src=x onerror="alert(1)">`;

let context: BrowserContext;
let closeBrowser: () => Promise<void>;
const startedAt = Date.now();

beforeAll(async () => {
  ({ context, close: closeBrowser } = await launchChromium());
});

afterAll(async () => {
  await closeBrowser?.();
  console.log(`browser tests took ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
});

const putSeed = (service: Service, seed: Seed) => putThroughApi(service, seed, klinesCsv(seed.rows));
const newPage = (service: Service, pageNow?: Date) => newPageIn(context, service, pageNow);
const openPage = (service: Service, pageNow?: Date) => openPageIn(context, service, pageNow);

/** The four figures on the page are /info's own, character for character. */
async function expectFiguresOf(page: Page, info: CacheInfo): Promise<void> {
  expect(await text(page, "#status")).toBe(info.total_files > 0 ? "Active" : "Empty");
  expect(await text(page, "#total-entries")).toBe(String(info.total_files));
  expect(await text(page, "#total-size")).toBe(String(info.total_size_mb));
  expect(await text(page, "#symbol-count")).toBe(String(info.cached_symbols.length));
}

interface Metrics {
  counters: Record<string, number>;
  caches: Record<string, { hits: number; misses: number; hit_ratio: number | null }>;
  symbols_refresh: Record<string, { last_refresh_at: string | null; age_seconds: number | null }>;
}

async function metricsOf(service: Service): Promise<Metrics> {
  const response = await fetch(`${service.url}${METRICS}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Metrics }).data;
}

/** One row of the page's hits-and-misses table: label, hits, misses, hit ratio. */
const cacheRow = (page: Page, name: string) =>
  page.$$eval(`#caches-body tr[data-cache="${name}"] > *`, (cells) => cells.map((cell) => cell.textContent ?? ""));

/** One row of the page's symbol-list table: market, last refresh, age. */
const refreshRow = (page: Page, market: string) =>
  page.$$eval(`#refresh-body tr[data-market="${market}"] > *`, (cells) => cells.map((cell) => cell.textContent ?? ""));

const objectsIn = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".csv") || name.endsWith(".json"));

describe("the admin page in Chromium", () => {
  it("shows the figures of /info, filters, sorts, deletes with the token, and clears through the dialog", async () => {
    const service = await startService();
    try {
      for (const seed of SEEDS) await putSeed(service, seed);
      const hostile = { ...SEEDS[0], symbol: HOSTILE_SYMBOL } as Seed;
      await service.store.put(csvKeyOf(hostile), klinesCsv(2));
      await service.store.put(metaKeyOf(hostile), serializeMeta(pythonMeta(hostile, 2, "2026-11-20T08:00:00.000")));
      // Written behind the service's back, as the Python service writes: info shows it once its index is rebuilt.
      expect((await fetch(`${service.url}${CACHE}/info?refresh=true`)).status).toBe(200);

      const { page, watch } = await openPage(service);
      const info = await cacheInfo(service);
      expect(info.total_files).toBe(SEEDS.length + 1);
      await expectFiguresOf(page, info);
      expect(await page.locator("#entries-body tr").count()).toBe(SEEDS.length + 1);
      expect(await text(page, "#entries-count")).toBe(`Showing 1–${SEEDS.length + 1} of ${SEEDS.length + 1} entries.`);
      expect(await page.locator("#metrics-state").isHidden()).toBe(true);
      expect(await cacheRow(page, "data_spot")).toEqual(["Candles, spot", "0", "0", "n/a"]);
      expect(await text(page, "#updated")).toBe("Updated 2026-11-25 12:00:00 UTC");

      // Stored symbols are data: the markup shows as text and nothing in it runs or loads.
      await expect.poll(() => page.locator("#entries-body td.symbol", { hasText: HOSTILE_SYMBOL }).count()).toBe(1);
      expect(await page.locator("#entries-body img").count()).toBe(0);
      // The recent entry expires 24 h after it was cached; the others are permanent.
      const sol = page.locator("#entries-body tr", { hasText: "SOLUSDT" });
      expect(await sol.locator('td[data-label="Expires"]').textContent()).toBe("2026-11-26 12:00:00 UTC");
      expect(await sol.locator('td[data-label="Cached at"]').textContent()).toBe("2026-11-25 12:00:00 UTC");
      const btc = page.locator("#entries-body tr", { hasText: "BTCUSDT" }).first();
      expect(await btc.locator('td[data-label="Expires"]').textContent()).toBe("permanent");

      await screenshot(page, "admin-desktop");
      await page.setViewportSize(PHONE);
      await screenshot(page, "admin-phone");
      await page.setViewportSize(DESKTOP);

      // Filters, applied by the service: by symbol (any case), by market, both; each answers from the first page.
      const symbolFilter = page.getByLabel("Symbol", { exact: true });
      const marketFilter = page.getByLabel("Market", { exact: true });
      await symbolFilter.fill("ethusdt");
      await expect.poll(() => columnTexts(page, 1)).toEqual(["ETHUSDT", "ETHUSDT"]);
      expect(await text(page, "#entries-count")).toBe(`Showing 1–2 of 2 entries (filtered from ${SEEDS.length + 1}).`);
      await marketFilter.selectOption("futures");
      await expect.poll(() => columnTexts(page, 4)).toEqual(["futures"]);
      expect(await columnTexts(page, 1)).toEqual(["ETHUSDT"]);
      await symbolFilter.fill("");
      await expect.poll(() => columnTexts(page, 1)).toEqual(["ADAUSDT", "BTCUSDT", "ETHUSDT"]);
      await marketFilter.selectOption("");
      await symbolFilter.fill("NOTHINGLIKEIT");
      await expect.poll(() => page.locator("#entries-body tr").count()).toBe(0);
      expect(await text(page, "#entries-empty")).toBe("No entry matches these filters.");
      await symbolFilter.fill("");
      await expect.poll(() => page.locator("#entries-body tr").count()).toBe(SEEDS.length + 1);

      // Sorting, by the service over every entry: a header sorts by its column, a second click reverses.
      const rowsHeader = page.locator('th[data-sort="rows"]');
      const ascending = [...SEEDS.map((seed) => seed.rows), 2].sort((a, b) => a - b);
      await rowsHeader.getByRole("button").click();
      await expect.poll(async () => (await columnTexts(page, 5)).map(Number)).toEqual(ascending);
      expect(await rowsHeader.getAttribute("aria-sort")).toBe("ascending");
      await rowsHeader.getByRole("button").click();
      await expect.poll(async () => (await columnTexts(page, 5)).map(Number)).toEqual([...ascending].reverse());
      expect(await rowsHeader.getAttribute("aria-sort")).toBe("descending");
      await page.locator('th[data-sort="interval"]').getByRole("button").click();
      await expect.poll(async () => (await columnTexts(page, 2)).slice(0, 4)).toEqual(["1m", "1m", "1m", "5m"]);

      // Show/Hide details folds the entries away and back.
      await page.getByRole("button", { name: "Hide details" }).click();
      expect(await page.locator("#details").isHidden()).toBe(true);
      await page.getByRole("button", { name: "Show details" }).click();
      expect(await page.locator("#details").isVisible()).toBe(true);

      // Deleting asks for the token first; a wrong one is refused with a message, the right one goes through.
      const victim = SEEDS[3] as Seed;
      const victimName = `Delete ${victim.symbol} ${victim.interval} ${victim.start_date} to ${victim.end_date} (${victim.market_type})`;
      await page.getByRole("button", { name: victimName }).click();
      const tokenDialog = page.getByRole("dialog", { name: "API token" });
      await tokenDialog.waitFor({ state: "visible" });
      watch.expectFailedRequest(`${CACHE}/data`, 401);
      await tokenDialog.getByLabel("Token").fill("not-the-token");
      await tokenDialog.getByRole("button", { name: "Use token" }).click();
      const refused = tokenDialog.getByRole("alert");
      await refused.waitFor({ state: "visible" });
      expect(await refused.textContent()).toContain("The service refused the token (401 Unauthorized): Wrong bearer token.");
      expect(await text(page, "#notice")).toContain("The service refused the token");
      await screenshot(page, "admin-token-refused", { fullPage: false });
      expect(existsSync(join(service.dir, `${datasetKey(victim)}.csv`))).toBe(true);
      await tokenDialog.getByLabel("Token").fill(TOKEN);
      await tokenDialog.getByRole("button", { name: "Use token" }).click();
      await expect.poll(() => text(page, "#notice")).toBe(`Deleted ${victimName.slice("Delete ".length)}.`);
      await expect.poll(() => text(page, "#total-entries")).toBe(String(SEEDS.length));
      expect(await page.getByRole("button", { name: victimName }).count()).toBe(0);
      expect(existsSync(join(service.dir, `${datasetKey(victim)}.csv`))).toBe(false);
      expect(existsSync(join(service.dir, `${datasetKey(victim)}_meta.json`))).toBe(false);
      await expectFiguresOf(page, await cacheInfo(service));

      // The token is asked once: after a reload the tab still has it, and clearing goes through the dialog only.
      await page.reload();
      await pageSettled(page);
      expect(await text(page, "#token-status")).toBe("Token entered for this tab.");
      await page.getByRole("button", { name: "Clear cache" }).click();
      const clearDialog = page.getByRole("dialog", { name: "Clear the whole cache?" });
      await clearDialog.waitFor({ state: "visible" });
      const before = await cacheInfo(service);
      // Every entry's objects, its derived forms included (their writer's job done), less the info index.
      await service.deriver.idle();
      const files = (await service.store.list()).filter((object) => !object.key.startsWith("_index/")).length;
      expect(files).toBeGreaterThanOrEqual(before.total_files * 2);
      expect(await clearDialog.locator("#clear-text").textContent()).toContain(
        `This deletes all ${before.total_files} entries (${before.total_size_mb} MB)`,
      );
      await clearDialog.getByRole("button", { name: "Clear cache" }).click();
      await expect.poll(() => text(page, "#status")).toBe("Empty");
      expect(await text(page, "#notice")).toBe(`Cache cleared: ${files} files deleted.`);
      expect(await page.locator("#entries-body tr").count()).toBe(0);
      expect(await text(page, "#entries-empty")).toBe("The cache is empty.");
      expect(await page.getByRole("button", { name: "Clear cache" }).isDisabled()).toBe(true);
      await expectFiguresOf(page, await cacheInfo(service));
      expect(objectsIn(service.dir)).toEqual([]);
      expect(await tokenDialog.isVisible()).toBe(false);
      await screenshot(page, "admin-empty");

      expect(watch.unexpected()).toEqual([]);
      await page.close();
    } finally {
      await service.close();
    }
  });

  it("shows what the service says of validity, whatever the browser's clock says", async () => {
    const service = await startService();
    try {
      const recent = SEEDS[5] as Seed;
      const old = SEEDS[0] as Seed;
      for (const seed of [recent, old]) await putSeed(service, seed);
      const expiresOf = async (page: Page, symbol: string) =>
        page.locator("#entries-body tr", { hasText: symbol }).locator('td[data-label="Expires"]').textContent();

      // The browser runs a year ahead: by its clock the recent entry expired long ago, but the service serves it.
      const ahead = await openPage(service, new Date(service.clock.now().getTime() + 366 * 86_400_000));
      expect(await expiresOf(ahead.page, recent.symbol)).toBe("2026-11-26 12:00:00 UTC");
      expect(await expiresOf(ahead.page, old.symbol)).toBe("permanent");
      expect(ahead.watch.unexpected()).toEqual([]);
      await ahead.page.close();

      // The service's clock passes the expiry; a browser a year behind still shows what the service says.
      service.clock.set("2026-11-26T12:00:00.000Z");
      const behind = await openPage(service, new Date("2025-11-26T12:00:00.000Z"));
      expect(await expiresOf(behind.page, recent.symbol)).toBe("2026-11-26 12:00:00 UTC (expired)");
      expect(await expiresOf(behind.page, old.symbol)).toBe("permanent");
      expect(behind.watch.unexpected()).toEqual([]);
      await behind.page.close();
    } finally {
      await service.close();
    }
  });

  it("asks for the token when reading needs one, then shows the cache", async () => {
    const service = await startService({ cacheReadToken: "read-token" });
    try {
      await putSeed(service, SEEDS[0] as Seed);
      const page = await newPage(service);
      const watch = watchPage(page);
      watch.expectFailedRequest(`${CACHE}/info`, 401);
      watch.expectFailedRequest(`${CACHE}/coverage`, 401);
      watch.expectFailedRequest(METRICS, 401);
      await page.goto(`${service.url}/`);
      const tokenDialog = page.getByRole("dialog", { name: "API token" });
      await tokenDialog.waitFor({ state: "visible" });
      expect(await tokenDialog.getByRole("alert").textContent()).toContain("Reading this cache needs its token");

      await tokenDialog.getByLabel("Token").fill("read-token");
      await tokenDialog.getByRole("button", { name: "Use token" }).click();
      await expect.poll(() => text(page, "#total-entries")).toBe("1");
      expect(await page.locator("#metrics-state").isHidden()).toBe(true);
      expect(watch.unexpected()).toEqual([]);
      await page.close();
    } finally {
      await service.close();
    }
  });

  it('says "metrics unavailable" when the metrics endpoint fails, and still shows the cache', async () => {
    const service = await startService();
    try {
      await putSeed(service, SEEDS[0] as Seed);
      const page = await newPage(service);
      const watch = watchPage(page);
      watch.expectFailedRequest(METRICS, 503);
      await page.route(`**${METRICS}`, (route) =>
        route.fulfill({
          status: 503,
          contentType: "application/json",
          body: JSON.stringify({ status: "error", error: { code: "COUNTERS_UNAVAILABLE", message: "Counters did not answer in time" } }),
        }),
      );
      await page.goto(`${service.url}/`);
      await pageSettled(page);
      expect(await text(page, "#metrics-state")).toBe("Metrics unavailable (HTTP 503: Counters did not answer in time).");
      expect(await page.locator("#metrics-body").isHidden()).toBe(true);
      await expectFiguresOf(page, await cacheInfo(service));
      expect(await page.locator("#entries-body tr").count()).toBe(1);
      expect(watch.unexpected()).toEqual([]);
      await page.close();
    } finally {
      await service.close();
    }
  });

  it("renders the announced metrics answer: hits, misses, ratio (n/a when none), symbol-list refresh and age", async () => {
    const service = await startService();
    try {
      await putSeed(service, SEEDS[0] as Seed);
      const page = await newPage(service);
      const watch = watchPage(page);
      // A stubbed answer of the announced shape, so the rendering is pinned whatever the live counters hold.
      const answer = {
        counters: { "metrics:cache_hit:data_spot": 3, "metrics:cache_miss:data_spot": 1, "metrics:cache_hit:symbols_spot": 10 },
        caches: {
          data_spot: { hits: 3, misses: 1, hit_ratio: 0.75 },
          data_futures: { hits: 0, misses: 0, hit_ratio: null },
          symbols_spot: { hits: 10, misses: 2, hit_ratio: 10 / 12 },
          symbols_futures: { hits: 1, misses: 2, hit_ratio: 1 / 3 },
        },
        symbols_refresh: {
          spot: { last_refresh_at: "2026-11-25T12:00:00.000Z", age_seconds: 42 },
          futures: { last_refresh_at: null, age_seconds: null },
        },
      };
      await page.route(`**${METRICS}`, (route) =>
        route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ status: "success", data: answer }) }),
      );
      await page.goto(`${service.url}/`);
      await pageSettled(page);
      expect(await page.locator("#metrics-state").isHidden()).toBe(true);
      expect(await cacheRow(page, "data_spot")).toEqual(["Candles, spot", "3", "1", "75.0%"]);
      expect(await cacheRow(page, "data_futures")).toEqual(["Candles, futures", "0", "0", "n/a"]);
      expect(await cacheRow(page, "symbols_spot")).toEqual(["Symbol list, spot", "10", "2", "83.3%"]);
      expect(await cacheRow(page, "symbols_futures")).toEqual(["Symbol list, futures", "1", "2", "33.3%"]);
      expect(await refreshRow(page, "spot")).toEqual(["spot", "2026-11-25 12:00:00 UTC", "42 s ago"]);
      expect(await refreshRow(page, "futures")).toEqual(["futures", "never", "n/a"]);
      expect(await page.locator("#counters-body tr").count()).toBe(3);
      await screenshot(page, "admin-metrics-desktop");
      await page.setViewportSize(PHONE);
      await screenshot(page, "admin-metrics-phone");
      expect(watch.unexpected()).toEqual([]);
      await page.close();
    } finally {
      await service.close();
    }
  });

  it("shows hits, misses and hit ratio per cache exactly as /api/v1/metrics counts them", async () => {
    const service = await startService();
    try {
      const spot = SEEDS[0] as Seed;
      const futures = SEEDS[1] as Seed;
      for (const seed of [spot, futures]) await putSeed(service, seed);
      // The spot symbol list was refreshed 42 s before the app's clock (epoch seconds, as the original stores it).
      const refreshedAt = service.clock.now().getTime() / 1000 - 42;
      await service.kv.set(symbolsLastRefreshKey("spot"), String(refreshedAt));
      const get = async (id: DatasetId, expected: number) =>
        expect((await fetch(`${service.url}${CACHE}/data?${datasetQuery(id)}`)).status).toBe(expected);
      for (let i = 0; i < 3; i++) await get(spot, 200);
      await get({ ...spot, end_date: "2021-10-24" }, 404);
      await get(futures, 200);
      for (let i = 0; i < 2; i++) await get({ ...futures, interval: "1d" }, 404);

      const metrics = await metricsOf(service);
      expect(metrics.caches.data_spot).toEqual({ hits: 3, misses: 1, partial: 0, hit_ratio: 0.75 });
      expect(metrics.caches.data_futures).toEqual({ hits: 1, misses: 2, partial: 0, hit_ratio: 0.3333 });
      expect(metrics.symbols_refresh.spot).toEqual({ last_refresh_at: "2026-11-25T11:59:18.000Z", age_seconds: 42 });

      const { page, watch } = await openPage(service);
      expect(await page.locator("#metrics-state").isHidden()).toBe(true);
      expect(await cacheRow(page, "data_spot")).toEqual(["Candles, spot", "3", "1", "75.0%"]);
      expect(await cacheRow(page, "data_futures")).toEqual(["Candles, futures", "1", "2", "33.3%"]);
      for (const [name, figures] of Object.entries(metrics.caches)) {
        const ratio = figures.hit_ratio === null ? "n/a" : `${(figures.hit_ratio * 100).toFixed(1)}%`;
        expect((await cacheRow(page, name)).slice(1)).toEqual([String(figures.hits), String(figures.misses), ratio]);
      }
      expect(await refreshRow(page, "spot")).toEqual(["spot", "2026-11-25 11:59:18 UTC", "42 s ago"]);
      expect(await refreshRow(page, "futures")).toEqual(["futures", "never", "n/a"]);
      expect(await page.locator("#counters-body tr").count()).toBe(Object.keys(metrics.counters).length);
      await screenshot(page, "admin-metrics-live-desktop");

      // Refresh reads the counters again: one more spot hit makes 4 of 5.
      await get(spot, 200);
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect.poll(async () => (await cacheRow(page, "data_spot"))[3]).toBe("80.0%");

      expect(watch.unexpected()).toEqual([]);
      await page.close();
    } finally {
      await service.close();
    }
  });
});
