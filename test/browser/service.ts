import type { BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";
import type { CacheInfo } from "../../src/cache/data-cache.js";
import type { DatasetId } from "../../src/market.js";
import { testApp, type TestAppOptions } from "../support/app.js";
import { DESKTOP, pageSettled, serveApp, watchPage } from "./support.js";

/** What the browser tests share: a service on a real HTTP server, and pages on it whose clock is the service's. */
export const TOKEN = "browser-test-token";
export const CACHE = "/api/v1/backtest/cache";

/** A fresh service on its own temp folder, on a real HTTP server; `auth` is the write header. */
export async function startService(options: TestAppOptions = {}) {
  const service = testApp({ cacheApiToken: TOKEN, ...options });
  const server = await serveApp(service.app);
  return { ...service, ...server, auth: { Authorization: `Bearer ${TOKEN}` } };
}
export type Service = Awaited<ReturnType<typeof startService>>;

export const datasetQuery = (id: DatasetId) =>
  new URLSearchParams({ symbol: id.symbol, interval: id.interval, start_date: id.start_date, end_date: id.end_date, market_type: id.market_type });

/** Stores a dataset as a client does: PUT, with the token. */
export async function putThroughApi(service: Service, id: DatasetId, csv: string): Promise<void> {
  const response = await fetch(`${service.url}${CACHE}/data?${datasetQuery(id)}`, {
    method: "PUT",
    headers: { ...service.auth, "Content-Type": "text/csv" },
    body: csv,
  });
  expect(response.status).toBe(201);
  // Its derived forms are made right after, in the background: done before the test looks at the store.
  await service.deriver.idle();
}

export async function cacheInfo(service: Service): Promise<CacheInfo> {
  const response = await fetch(`${service.url}${CACHE}/info`);
  return ((await response.json()) as { data: CacheInfo }).data;
}

/** A page whose clock reads `pageNow` (the app's clock by default), so nothing it shows depends on today's date. */
export async function newPage(context: BrowserContext, service: Service, pageNow: Date = service.clock.now()): Promise<Page> {
  const page = await context.newPage();
  await page.clock.setFixedTime(pageNow);
  return page;
}

export async function openPage(context: BrowserContext, service: Service, pageNow?: Date) {
  const page = await newPage(context, service, pageNow);
  await page.setViewportSize(DESKTOP);
  const watch = watchPage(page);
  await page.goto(`${service.url}/`);
  await pageSettled(page);
  return { page, watch };
}

export const text = async (page: Page, selector: string) => (await page.locator(selector).textContent())?.trim();
/** The texts of one column of the entries table, top to bottom. */
export const columnTexts = (page: Page, column: number) =>
  page.$$eval(`#entries-body tr td:nth-child(${column})`, (cells) => cells.map((cell) => cell.textContent ?? ""));
