import { describe, expect, it } from "vitest";
import { ageText, cachedAtText, counted, describe as describeEntry, expiresText, knownFirst, utcText } from "../../../web/admin/format.js";

describe("the admin page's wording", () => {
  it("writes instants in UTC, cached_at in both of the service's forms", () => {
    expect(utcText(Date.UTC(2026, 10, 25, 12))).toBe("2026-11-25 12:00:00 UTC");
    expect(utcText(NaN)).toBeNull();
    expect(cachedAtText("2026-11-23T19:51:34.750")).toBe("2026-11-23 19:51:34 UTC");
    expect(cachedAtText("2026-11-23T21:51:34+02:00")).toBe("2026-11-23 19:51:34 UTC");
    expect(cachedAtText("yesterday")).toBe("yesterday");
  });

  it("writes ages in their two largest units", () => {
    expect([42, 300, 3 * 3600 + 120, 2 * 86400 + 4 * 3600].map(ageText)).toEqual(["42 s", "5 min", "3 h 2 min", "2 d 4 h"]);
  });

  it("puts known names first, in their order, then the rest alphabetically", () => {
    expect(knownFirst(["zeta", "futures", "alpha", "spot"], ["spot", "futures"])).toEqual(["spot", "futures", "alpha", "zeta"]);
  });

  it("says when an entry stops being served, as the service judged it", () => {
    const base = { expires_at: null, retention: "rule", state: "valid" } as const;
    expect(expiresText(base)).toBe("permanent");
    expect(expiresText({ ...base, retention: "until_replaced" })).toBe("until replaced (read-through)");
    expect(expiresText({ ...base, expires_at: "2026-11-26T12:00:00.000Z", state: "expired" })).toBe("2026-11-26 12:00:00 UTC (expired)");
  });

  it("names entries and counts", () => {
    const entry = { symbol: "BTCUSDT", interval: "1m", start_date: "2021-10-22", end_date: "2021-10-23", market_type: "spot" };
    expect(describeEntry(entry)).toBe("BTCUSDT 1m 2021-10-22 to 2021-10-23 (spot)");
    expect([counted(1, "entry", "entries"), counted(100000, "entry", "entries")]).toEqual(["1 entry", "100,000 entries"]);
  });
});
