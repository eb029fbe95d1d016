import { describe, expect, it } from "vitest";
import type { CacheEntryInfo } from "../../src/cache/data-cache.js";
import type { InfoPage } from "../../src/cache/index/page.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
import { dataUrl, testApp } from "../support/app.js";
import { klinesCsv } from "../support/fixtures.js";

const INFO = "/api/v1/backtest/cache/info";
const SYMBOLS = ["BTCUSDT", "ETHUSDT", "XRPUSDT"];

/** 3 symbols x 2 intervals x 2 markets x 2 days = 24 entries. */
async function seeded(options: { inlineMaxBytes?: number } = {}) {
  const built = testApp({ ...options });
  for (const symbol of SYMBOLS) {
    for (const interval of ["1m", "1h"]) {
      for (const market_type of ["spot", "futures"]) {
        for (const day of ["2021-01-01", "2021-01-02"]) {
          const id = { symbol, interval, start_date: day, end_date: day, market_type };
          const res = await built.app.request(dataUrl(id), { method: "PUT", body: klinesCsv(3), headers: { "Content-Type": "text/csv" } });
          expect(res.status).toBe(201);
        }
      }
    }
  }
  return built;
}

async function page(app: ReturnType<typeof testApp>["app"], query = ""): Promise<InfoPage> {
  const res = await app.request(`${INFO}${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as SuccessEnvelope<InfoPage>).data;
}

const keyOf = (entry: CacheEntryInfo) => `${entry.folder}/${entry.cache_key}`;

describe("paged info", () => {
  it("answers everything in the original's shape without paging parameters", async () => {
    const { app } = await seeded();
    const whole = await page(app);
    expect(whole.cache_entries).toHaveLength(24);
    expect(Object.keys(whole).sort()).toEqual(["cache_entries", "cached_symbols", "total_files", "total_size_mb"]);
  });

  it("pages the entries in key order with next_cursor, each once, the summary figures whole on every page", async () => {
    const { app } = await seeded();
    const whole = await page(app);
    const seen: string[] = [];
    let cursor: string | null | undefined = "";
    let pages = 0;
    while (cursor !== null) {
      const got: InfoPage = await page(app, `?limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      expect(got.cache_entries.length).toBeLessThanOrEqual(5);
      expect(got.total_files).toBe(24);
      expect(got.cached_symbols).toEqual(SYMBOLS);
      expect(got.matching_entries).toBe(24);
      seen.push(...got.cache_entries.map(keyOf));
      cursor = got.next_cursor;
      pages++;
    }
    expect(pages).toBe(5);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen)).toEqual(new Set(whole.cache_entries.map(keyOf)));
    expect(seen).toHaveLength(24);
  });

  it("filters by symbol (any case), interval and market type", async () => {
    const { app } = await seeded();
    const got = await page(app, "?symbol=ethusdt&interval=1h&market_type=FUTURES");
    expect(got.matching_entries).toBe(2);
    expect(got.cache_entries.map((entry) => [entry.symbol, entry.interval, entry.market_type])).toEqual([
      ["ETHUSDT", "1h", "futures"],
      ["ETHUSDT", "1h", "futures"],
    ]);
    expect(got.total_files).toBe(24);
    const limited = await page(app, "?symbol=BTCUSDT&limit=3");
    expect(limited.cache_entries).toHaveLength(3);
    expect(limited.matching_entries).toBe(8);
    expect(limited.next_cursor).toEqual(expect.any(String));
  });

  it.each([
    ["?limit=0", "limit"],
    ["?limit=10001", "limit"],
    ["?limit=ten", "limit"],
    ["?limit=1.5", "limit"],
    ["?cursor=not%20a%20cursor", "cursor"],
    ["?interval=7m", "interval"],
    ["?market_type=options", "market_type"],
    ["?symbol=BTC-USDT", "symbol"],
    ["?limit=1&limit=2", "limit"],
    ["?sort=size", "sort"],
    ["?sort=", "sort"],
    ["?order=up", "order"],
    ["?sort=rows&sort=symbol", "sort"],
  ])("refuses %s naming %s", async (query, field) => {
    const { app } = testApp();
    const res = await app.request(`${INFO}${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorEnvelope;
    expect(body.error.code).toBe("VALIDATION_ERROR");
    expect(JSON.stringify(body.error)).toContain(field);
  });

  it("sorts by a key, pages it with a key-based cursor, and refuses that cursor for another sort or order", async () => {
    const { app } = await seeded();
    const seen: CacheEntryInfo[] = [];
    let cursor: string | null | undefined = "";
    while (cursor !== null) {
      const got: InfoPage = await page(app, `?sort=interval&order=desc&symbol=BTCUSDT&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(got.matching_entries).toBe(8);
      seen.push(...got.cache_entries);
      cursor = got.next_cursor;
    }
    expect(seen.map((entry) => entry.interval)).toEqual(["1h", "1h", "1h", "1h", "1m", "1m", "1m", "1m"]);
    // Ties go by the other columns as a table reads (symbol, dates, market), in the same order, then by position.
    const rest = seen.slice(0, 4).map((entry) => `${entry.start_date} ${entry.end_date} ${entry.market_type} ${keyOf(entry)}`);
    expect(rest).toEqual([...rest].sort().reverse());
    expect(new Set(seen.map(keyOf)).size).toBe(8);

    const first = await page(app, "?sort=interval&order=desc&limit=3");
    for (const query of [`?sort=interval&cursor=${first.next_cursor}`, `?sort=rows&order=desc&cursor=${first.next_cursor}`, `?cursor=${first.next_cursor}`]) {
      const res = await app.request(`${INFO}${query}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as ErrorEnvelope;
      expect(body.error).toMatchObject({ code: "VALIDATION_ERROR", issues: [{ field: "cursor" }] });
    }
  });

  it("on Lambda, answers the first page that fits when the whole would not, and says so", async () => {
    const { app } = await seeded({ inlineMaxBytes: 8 * 1024 });
    const first = await page(app);
    expect(first.truncated?.page_entries).toBe(first.cache_entries.length);
    expect(first.cache_entries.length).toBeGreaterThan(0);
    expect(first.cache_entries.length).toBeLessThan(24);
    expect(JSON.stringify(first).length).toBeLessThanOrEqual(8 * 1024);
    const seen = first.cache_entries.map(keyOf);
    let cursor = first.next_cursor;
    while (cursor) {
      const next = await page(app, `?cursor=${cursor}`);
      seen.push(...next.cache_entries.map(keyOf));
      cursor = next.next_cursor;
    }
    expect(new Set(seen).size).toBe(24);
  });
});
