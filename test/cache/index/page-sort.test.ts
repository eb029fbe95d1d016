import { describe, expect, it } from "vitest";
import type { CacheEntryInfo, CacheInfo } from "../../../src/cache/data-cache.js";
import { INFO_SORTS, pageOf, type InfoQuery } from "../../../src/cache/index/page.js";
import { ValidationError } from "../../../src/errors.js";

let made = 0;
/** An info entry; its key (and so its position) grows with each one made, unless given. */
function entry(fields: Partial<CacheEntryInfo> = {}): CacheEntryInfo {
  made++;
  return {
    symbol: "BTCUSDT",
    interval: "1h",
    start_date: "2021-01-01",
    end_date: "2021-01-31",
    market_type: "spot",
    cached_at: "2026-11-01T00:00:00.000",
    rows: 10,
    cache_key: `k${String(made).padStart(4, "0")}`,
    folder: "",
    retention: "rule",
    expires_at: null,
    state: "valid",
    ...fields,
  };
}

const infoOf = (entries: CacheEntryInfo[]): CacheInfo => ({ total_files: entries.length, cached_symbols: [], total_size_mb: 0, cache_entries: entries });
const keysOf = (query: InfoQuery, entries: CacheEntryInfo[]) => pageOf(infoOf(entries), query).cache_entries.map((e) => e.cache_key);

/** For each sort, entries named a, b, c in that sort's ascending order, given out of order and in scrambled positions. */
const ASCENDING: Record<(typeof INFO_SORTS)[number], [Partial<CacheEntryInfo>, Partial<CacheEntryInfo>, Partial<CacheEntryInfo>]> = {
  symbol: [{ symbol: "ADAUSDT" }, { symbol: "BTCUSDT" }, { symbol: "ETHUSDT" }],
  // 30m before 1h though "1h" < "30m" as strings; an interval Binance does not have goes last.
  interval: [{ interval: "30m" }, { interval: "1h" }, { interval: "7m" }],
  dates: [
    { start_date: "2021-01-01", end_date: "2021-01-02" },
    { start_date: "2021-01-01", end_date: "2021-03-01" },
    { start_date: "2021-02-01", end_date: "2021-02-02" },
  ],
  market: [{ market_type: "futures" }, { market_type: "spot" }, { market_type: "zzz" }],
  // by number: 9 before 10 though "10" < "9"
  rows: [{ rows: 9 }, { rows: 10 }, { rows: 200 }],
  // unreadable first; then by instant, whatever the form (zone-less, Z, an offset)
  cached: [{ cached_at: "yesterday" }, { cached_at: "2026-11-01T10:00:00+02:00" }, { cached_at: "2026-11-01T09:00:00" }],
  // null (never) last
  expires: [{ expires_at: "2026-11-20T00:00:00.000Z" }, { expires_at: "2026-12-01T00:00:00.000Z" }, { expires_at: null }],
};

describe("pageOf with sort", () => {
  it.each(INFO_SORTS)("sorts by %s, both orders", (sort) => {
    const [a, b, c] = ASCENDING[sort];
    const entries = [entry({ ...b, cache_key: "k1" }), entry({ ...c, cache_key: "k2" }), entry({ ...a, cache_key: "k3" })];
    expect(keysOf({ sort }, entries)).toEqual(["k3", "k1", "k2"]);
    expect(keysOf({ sort, order: "asc" }, entries)).toEqual(["k3", "k1", "k2"]);
    expect(keysOf({ sort, order: "desc" }, entries)).toEqual(["k2", "k1", "k3"]);
  });

  it("breaks ties by position, ascending, in either order", () => {
    const entries = [entry({ cache_key: "b", rows: 5 }), entry({ cache_key: "c", rows: 1 }), entry({ cache_key: "a", rows: 5 }), entry({ folder: "partitions", cache_key: "0", rows: 5 })];
    expect(keysOf({ sort: "rows" }, entries)).toEqual(["c", "a", "b", "0"]);
    expect(keysOf({ sort: "rows", order: "desc" }, entries)).toEqual(["a", "b", "0", "c"]);
  });

  it("keeps the default order and cursor without sort; order=desc alone reverses positions", () => {
    const entries = [entry({ cache_key: "b" }), entry({ cache_key: "a" }), entry({ folder: "partitions", cache_key: "0" })];
    expect(keysOf({}, entries)).toEqual(["a", "b", "0"]);
    expect(keysOf({ order: "asc" }, entries)).toEqual(["a", "b", "0"]);
    expect(keysOf({ order: "desc" }, entries)).toEqual(["0", "b", "a"]);
    const first = pageOf(infoOf(entries), { limit: 1 });
    expect(Buffer.from(first.next_cursor ?? "", "base64url").toString()).toBe("/a");
    const sorted = pageOf(infoOf(entries), { limit: 1, order: "desc" });
    expect(keysOf({ limit: 5, order: "desc", cursor: sorted.next_cursor ?? "" }, entries)).toEqual(["b", "a"]);
  });

  it.each([
    ["dates", "asc"],
    ["cached", "desc"],
    ["expires", "asc"],
    ["symbol", "desc"],
  ] as const)("pages by %s %s: every entry there from the start once, in order, though entries come between pages", (sort, order) => {
    const symbols = ["ETHUSDT", "ADAUSDT", "XRPUSDT", "BTCUSDT"];
    const entries = Array.from({ length: 23 }, (_, i) =>
      entry({
        symbol: symbols[i % 4],
        start_date: `2021-0${(i % 3) + 1}-01`,
        end_date: `2021-0${(i % 3) + 1}-${String(10 + (i % 7)).padStart(2, "0")}`,
        cached_at: i % 5 === 0 ? "garbage" : `2026-11-${String(1 + (i % 9)).padStart(2, "0")}T00:00:00`,
        expires_at: i % 4 === 0 ? null : `2026-12-${String(1 + (i % 6)).padStart(2, "0")}T00:00:00.000Z`,
      }),
    );
    const original = new Set(entries.map((e) => e.cache_key));
    const whole = keysOf({ sort, order }, entries);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      const page = pageOf(infoOf(entries), { sort, order, limit: 4, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.cache_entries.map((e) => e.cache_key));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
      // Between pages: one entry like the first seen (it sorts before the cursor), one like the last (after it, or tied).
      entries.push(entry({ ...page.cache_entries[0], cache_key: `a-new${pages}` }), entry({ ...page.cache_entries.at(-1), cache_key: `zzz${pages}` }));
    }
    const seenOriginal = seen.filter((key) => original.has(key));
    expect(seenOriginal).toEqual(whole);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(keysOf({ sort, order }, entries).filter((key) => seen.includes(key)));
    expect(seen.some((key) => key.startsWith("zzz"))).toBe(true);
    expect(seen.some((key) => key.startsWith("a-new"))).toBe(false);
  });

  it.each([
    ["unreadable", { sort: "rows", cursor: "bm90IGpzb24" }],
    ["not base64 JSON of a cursor", { sort: "rows", cursor: Buffer.from(JSON.stringify({ sort: "rows" })).toString("base64url") }],
    ["of another sort", { sort: "symbol", cursor: "ROWS_ASC" }],
    ["of another order", { sort: "rows", order: "desc", cursor: "ROWS_ASC" }],
    ["of the default order, with sort", { sort: "rows", cursor: Buffer.from("/k0001").toString("base64url") }],
    ["of a sort, without sort", { cursor: "ROWS_ASC" }],
  ] as const)("refuses a cursor %s with a VALIDATION_ERROR naming cursor", (_, query) => {
    const entries = [entry(), entry(), entry()];
    const rowsAsc = pageOf(infoOf(entries), { sort: "rows", limit: 1 }).next_cursor ?? "";
    const cursor = query.cursor === "ROWS_ASC" ? rowsAsc : query.cursor;
    let thrown: unknown;
    try {
      pageOf(infoOf(entries), { ...query, cursor });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).issues?.[0]?.field).toBe("cursor");
  });
});
