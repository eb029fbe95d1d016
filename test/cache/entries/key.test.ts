import { describe, expect, it } from "vitest";
import { datasetKey } from "../../../src/cache/entries/key.js";

describe("datasetKey", () => {
  it("is the original's md5 of SYMBOL_interval_start_end_market", () => {
    const id = { symbol: "BTCUSDT", interval: "1m", start_date: "2021-10-22", end_date: "2021-10-23", market_type: "spot" } as const;
    expect(datasetKey(id)).toBe("0b0670744f42d25b998f5b2e646d6467");
  });

  it("matches the futures entry the original wrote", () => {
    const id = { symbol: "ETHUSDT", interval: "1m", start_date: "2021-10-22", end_date: "2021-10-23", market_type: "futures" } as const;
    expect(datasetKey(id)).toBe("751b788d74a40e8597a5dab694257c51");
  });
});
