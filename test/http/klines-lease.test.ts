import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvKeyOf, metaKeyOf } from "../../src/cache/entries/objects.js";
import { createMemoryLeases } from "../../src/counters/memory.js";
import type { Leases } from "../../src/counters/types.js";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { fixedClock } from "../../src/clock.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp } from "../support/app.js";
import { jsonOf } from "../support/json.js";

const NOW = "2026-11-25T12:00:30.000Z";
const QUERY = { symbol: "BTCUSDT", interval: "1h", start_date: "2026-03-01", end_date: "2026-03-31" };
const PARTITION = { ...QUERY, interval: "1h" as const, market_type: "spot" as const, folder: "partitions" };

let standIn: BinanceStandIn;
beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => Date.parse(NOW) });
});
afterAll(() => standIn.close());

describe("a read-through writer that lost its lease", () => {
  it("writes nothing of its partition, logs it, and answers 503 with when to ask again", async () => {
    // The partition's lease is taken over by another request while this one fetches: every renewal says it is lost.
    const memory = createMemoryLeases({ clock: fixedClock(NOW) });
    const leases: Leases = { ...memory, renew: async (key, token, ttlMs) => !key.startsWith("lease:klines:") && memory.renew(key, token, ttlMs) };
    const { app, store, logs } = testApp({ binanceUrl: standIn.url, now: NOW, leases });

    const res = await app.request(`/api/v1/klines?${new URLSearchParams(QUERY)}`);

    expect(res.status).toBe(503);
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(standIn.requests["/api/v3/klines"]).toBeGreaterThan(0);
    expect(await store.get(metaKeyOf(PARTITION))).toBeNull();
    expect(await store.get(csvKeyOf(PARTITION))).toBeNull();
    expect(logs.some((line) => line.event === "klines_write_given_up")).toBe(true);
  });
});
