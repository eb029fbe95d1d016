import { describe, expect, it } from "vitest";
import { UpstreamInvalidError } from "../../src/errors.js";
import { fetchGroup, type PassPorts } from "../../src/klines/pass.js";
import type { PartitionFetch } from "../../src/klines/partition.js";
import { partitionsOf, type Partition } from "../../src/klines/plan.js";
import type { Kline } from "../../src/upstream/binance.js";

const utc = (text: string) => Date.parse(`${text}Z`);
const HOUR = 3_600_000;
const [MARCH] = partitionsOf(
  { symbol: "BTCUSDT", interval: "1h", start_date: "2025-03-01", end_date: "2025-03-31", market_type: "spot" },
  utc("2026-01-01T00:00:00"),
) as [Partition];
const kline = (openMs: number): Kline => [openMs, "1.0", "1.0", "1.0", "1.0", "1.0", openMs + HOUR - 1, "1.0", 1, "1.0", "1.0", "0"];

/** A pass over March whose exchange answers `answer(query)`; what it emits, and every query it sent. */
async function run(answer: (query: { startTime?: number; endTime?: number; limit: number }) => Kline[], firstOpen: number | null = 0) {
  const queries: { startTime?: number; endTime?: number; limit: number }[] = [];
  const emitted: PartitionFetch[] = [];
  const ports: PassPorts = {
    page: async (query) => {
      queries.push(query);
      return { klines: answer(query), exchangeTimeMs: null };
    },
    firstOpen: async () => firstOpen,
    pause: async () => {},
    localCutoffMs: () => utc("2026-01-01T00:00:00"),
  };
  const outcome = await fetchGroup({ partitions: [MARCH], fromMs: MARCH.startMs, heldBeforeMs: null }, ports, { interval: "1h", pageLimit: 1000 }, async (_, fetched) => {
    emitted.push(fetched);
  }).then(
    () => null,
    (error: unknown) => error,
  );
  return { queries, emitted, error: outcome };
}

const honest = (query: { startTime?: number; endTime?: number; limit: number }): Kline[] => {
  const from = Math.max(query.startTime ?? MARCH.startMs, MARCH.startMs);
  const to = Math.min(query.endTime ?? MARCH.endMs - 1, MARCH.endMs - 1);
  const opens: Kline[] = [];
  for (let open = Math.ceil(from / HOUR) * HOUR; open <= to && opens.length < query.limit; open += HOUR) opens.push(kline(open));
  return opens;
};

describe("fetchGroup", () => {
  it("emits a month complete after one page of an honest exchange", async () => {
    const { queries, emitted, error } = await run(honest);

    expect(error).toBeNull();
    expect(queries).toEqual([{ startTime: MARCH.startMs, endTime: MARCH.endMs - 1, limit: 1000 }]);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(emitted[0]?.klines).toHaveLength(744);
  });

  it.each([
    ["klines out of order", () => [kline(MARCH.startMs + HOUR), kline(MARCH.startMs)]],
    ["a kline after the endTime asked", (q: { endTime?: number }) => [kline((q.endTime ?? 0) + 1)]],
    ["a kline before the startTime asked", () => [kline(MARCH.startMs - HOUR)]],
    ["more klines than the limit", () => Array.from({ length: 1001 }, (_, i) => kline(MARCH.startMs + i * HOUR))],
    ["klines closer than one interval", () => [kline(MARCH.startMs), kline(MARCH.startMs + 60_000)]],
    ["a kline that closes before it opens", () => [[MARCH.startMs, "1", "1", "1", "1", "1", MARCH.startMs - 1, "1", 1, "1", "1", "0"] as Kline]],
  ])("refuses %s, and emits nothing", async (_, answer) => {
    const { emitted, error } = await run(answer);

    expect(error).toBeInstanceOf(UpstreamInvalidError);
    expect(emitted).toEqual([]);
  });

  it("refuses a first candle after the start when the symbol's first candle ever is between them", async () => {
    const { error } = await run((query) => honest(query).filter((k) => k[0] >= utc("2025-03-05T00:00:00")), utc("2025-03-02T00:00:00"));

    expect(error).toBeInstanceOf(UpstreamInvalidError);
  });

  it("takes the time before a symbol's first candle for its listing, not a gap", async () => {
    const listedAt = utc("2025-03-05T00:00:00");
    const { emitted } = await run((query) => honest(query).filter((k) => k[0] >= listedAt), listedAt);

    expect(emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(emitted[0]?.klines[0]?.[0]).toBe(listedAt);
  });
});
