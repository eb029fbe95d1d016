import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvKeyOf, metaKeyOf } from "../../src/cache/entries/objects.js";
import { serializeMeta } from "../../src/cache/entries/meta.js";
import { INTERVALS, type DatasetId } from "../../src/market.js";
import { mapLimit } from "../../src/util/map-limit.js";
import { klinesCsv, pythonMeta } from "../support/fixtures.js";
import { CACHE, columnTexts, openPage, startService, text, type Service } from "./service.js";
import { PHONE, launchChromium, screenshot } from "./support.js";

const ENTRIES = 100_000;
const SYMBOLS = 10_000;
const PAGE_INTERVALS = INTERVALS.slice(1, 1 + ENTRIES / SYMBOLS);

let context: BrowserContext;
let closeBrowser: () => Promise<void>;

beforeAll(async () => {
  ({ context, close: closeBrowser } = await launchChromium());
});

afterAll(async () => {
  await closeBrowser?.();
});

/** Entry i: symbol T<i mod 10,000>USDT, the (i div 10,000)th interval, spot for even i; 1 to 5 rows. */
function entryOf(i: number): { id: DatasetId; rows: number } {
  return {
    id: {
      symbol: `T${i % SYMBOLS}USDT`,
      interval: PAGE_INTERVALS[Math.floor(i / SYMBOLS)] as DatasetId["interval"],
      start_date: "2021-01-01",
      end_date: "2021-01-31",
      market_type: i % 2 === 0 ? "spot" : "futures",
    },
    rows: 1 + (i % 5),
  };
}

/** Through the store, as the Python service or a restore from backup writes them: CSV and meta, no index. */
async function seed(service: Service): Promise<void> {
  const csvs = [1, 2, 3, 4, 5].map((rows) => klinesCsv(rows));
  await mapLimit(Array.from({ length: ENTRIES }, (_, i) => i), 64, async (i) => {
    const { id, rows } = entryOf(i);
    await service.store.put(csvKeyOf(id), csvs[rows - 1] as string);
    await service.store.put(metaKeyOf(id), serializeMeta(pythonMeta(id, rows, "2026-11-24T10:00:00.000")));
  });
}

describe("the admin page at 100,000 entries", () => {
  it("pages, filters and sorts on the service: the page holds 50 rows and 25 series whatever the cache holds", async () => {
    const service = await startService();
    try {
      const seeding = Date.now();
      await seed(service);
      // The index is built from a full listing once (as the first info after a restore would), not by the page.
      expect((await fetch(`${service.url}${CACHE}/info?refresh=true&limit=1`)).status).toBe(200);
      console.log(`seeded ${ENTRIES} entries and indexed them in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);

      const { page, watch } = await openPage(context, service);
      expect(await text(page, "#total-entries")).toBe(String(ENTRIES));
      expect(await text(page, "#symbol-count")).toBe(String(SYMBOLS));
      expect(await page.locator("#entries-body tr").count()).toBe(50);
      expect(await text(page, "#entries-count")).toBe("Showing 1–50 of 100,000 entries.");
      expect(await text(page, "#page-status")).toBe("Page 1 of 2,000");
      // Sorted by symbol (then interval, by length) by default, as the service orders them.
      expect((await columnTexts(page, 1)).slice(0, 2)).toEqual(["T0USDT", "T0USDT"]);
      expect((await columnTexts(page, 2)).slice(0, 2)).toEqual(["1m", "3m"]);
      // The coverage picture: one page of series, each a month held.
      expect(await page.locator("#coverage-table tbody tr").count()).toBe(25);
      expect(await text(page, "#coverage-count")).toBe("Series 1–25 of 100,000, 2021-01 to 2021-01.");
      expect(await page.locator('#coverage-table [data-state="held"]').count()).toBe(25);
      await screenshot(page, "admin-100k-desktop");

      const firstPage = await columnTexts(page, 1);
      await page.getByRole("button", { name: "Next", exact: true }).click();
      await expect.poll(() => text(page, "#page-status")).toBe("Page 2 of 2,000");
      expect(await text(page, "#entries-count")).toBe("Showing 51–100 of 100,000 entries.");
      expect(await page.locator("#entries-body tr").count()).toBe(50);
      expect(await columnTexts(page, 1)).not.toEqual(firstPage);
      await page.getByRole("button", { name: "Previous", exact: true }).click();
      await expect.poll(() => columnTexts(page, 1)).toEqual(firstPage);

      // Filters and sorts apply to all 100,000 before paging.
      await page.getByLabel("Market", { exact: true }).selectOption("futures");
      await expect.poll(() => text(page, "#page-status")).toBe("Page 1 of 1,000");
      expect(new Set(await columnTexts(page, 4))).toEqual(new Set(["futures"]));
      await page.getByLabel("Market", { exact: true }).selectOption("");
      await page.locator('th[data-sort="rows"]').getByRole("button").click();
      await page.locator('th[data-sort="rows"]').getByRole("button").click();
      await expect.poll(async () => new Set(await columnTexts(page, 5))).toEqual(new Set(["5"]));
      await page.getByLabel("Symbol", { exact: true }).fill("t42usdt");
      await expect.poll(() => text(page, "#entries-count")).toBe("Showing 1–10 of 10 entries (filtered from 100,000).");
      expect(new Set(await columnTexts(page, 1))).toEqual(new Set(["T42USDT"]));
      expect(await page.locator("#pager").isHidden()).toBe(true);
      await expect.poll(() => page.locator("#coverage-table tbody tr").count()).toBe(10);
      await page.setViewportSize(PHONE);
      await screenshot(page, "admin-100k-phone");

      expect(watch.unexpected()).toEqual([]);
      await page.close();
    } finally {
      await service.close();
    }
  }, 300_000);
});
