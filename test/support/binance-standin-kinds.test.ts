import { createHash } from "node:crypto";
import { strFromU8, unzipSync } from "fflate";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fundingRecordAt, priceKlineAt, startBinanceStandIn, type BinanceStandIn, type FundingRecord, type PriceKlineKind } from "./binance-standin.js";

const NOW = Date.parse("2024-06-15T12:30:30.000Z");
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const MARCH = Date.UTC(2024, 2, 1);
const APRIL = Date.UTC(2024, 3, 1);
const MAY = Date.UTC(2024, 4, 1);
const JUNE = Date.UTC(2024, 5, 1);

type Row = [number, string, string, string, string, string, number, string, number, string, string, string];

/** The price kinds: their path, the parameter naming the symbol, their archive folder, their count for a 1m candle. */
const KINDS: { kind: PriceKlineKind; path: string; param: "symbol" | "pair"; folder: string; perMinute: number }[] = [
  { kind: "mark", path: "/fapi/v1/markPriceKlines", param: "symbol", folder: "markPriceKlines", perMinute: 60 },
  { kind: "index", path: "/fapi/v1/indexPriceKlines", param: "pair", folder: "indexPriceKlines", perMinute: 60 },
  { kind: "premium", path: "/fapi/v1/premiumIndexKlines", param: "symbol", folder: "premiumIndexKlines", perMinute: 12 },
];

async function get(standIn: BinanceStandIn, path: string, query: Record<string, string | number> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const search = new URLSearchParams(Object.entries(query).map(([key, value]) => [key, String(value)]));
  const response = await fetch(`${standIn.url}${path}${Object.keys(query).length ? `?${search}` : ""}`);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as unknown, headers: response.headers };
}

async function bytes(standIn: BinanceStandIn, path: string): Promise<{ status: number; body: Uint8Array }> {
  const response = await fetch(`${standIn.url}${path}`);
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
}

/** Every row of [startTime, endTime] by paging as a client does: pages of `limit`, each from the last open + 1. */
async function pageAll(standIn: BinanceStandIn, path: string, query: Record<string, string | number>, startTime: number, endTime: number, limit = 1500): Promise<Row[]> {
  const rows: Row[] = [];
  for (let from = startTime; ; ) {
    const { status, body } = await get(standIn, path, { ...query, startTime: from, endTime, limit });
    expect(status).toBe(200);
    const page = body as Row[];
    rows.push(...page);
    if (page.length < limit) return rows;
    from = (page.at(-1) as Row)[0] + 1;
  }
}

function csvOf(zip: Uint8Array): { name: string; text: string } {
  const entries = Object.entries(unzipSync(zip));
  expect(entries).toHaveLength(1);
  const [name, data] = entries[0] as [string, Uint8Array];
  return { name, text: strFromU8(data) };
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

describe("the stand-in's existing answers", () => {
  let standIn: BinanceStandIn;
  beforeAll(async () => {
    standIn = await startBinanceStandIn({ now: () => NOW });
  });
  afterAll(() => standIn.close());

  // Captured from the stand-in as it was before the price kinds and funding rates were added (same `now`).
  it.each([
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1m&startTime=1718409600000&limit=5", 200, "797675a425781e567cf862d63a9a838fa246755d22119c9c5b018cfcbd49e039"],
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1h&startTime=1704067200000&endTime=1704153600000&limit=1500", 200, "e1b1e9ab530d8e60520b72b4d5cc7ef7ad48c299bc79097dc5d98ca5ac9e4c3b"],
    ["/fapi/v1/klines?symbol=ETHUSDT&interval=1m", 200, "bb00cea24ec2b89ed2637825d825e5bda6698c47307518fe76684181ca1b1cde"],
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1d&limit=3", 200, "7846bee2d0dd05de217ce359b72dd8cf1014cc5d8c330b9ffc9edb3cb706a721"],
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1M&limit=10", 200, "8cdd58f8a33090a3c9f0f36531d77213a516e47ea5b2d69f64a397dfa38af916"],
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1s", 400, "68778eabffabcbf866d9787e5d00cc6a46475dea46b6d08f57c565142b3fbac6"],
    ["/fapi/v1/klines?interval=1m", 400, "440a565dfab78f553157c8647cf721ff5f1f8ed9f5a363ee61086ef7db1302e1"],
    ["/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1501", 400, "9452b935b65e03c066141f89e30f9cb90867c4cbe7bacf955ce75925f381a975"],
    ["/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1718409600000&limit=5", 200, "31002635e1f7abd6365b43599a41bae7e956fc7b4a08beb4aa5f1973674ee08a"],
    ["/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=1000", 200, "68c2bc88c1f79f50fad68d42627fc56dbf17f780ca9c4290dcab9f9f464e25e4"],
    ["/fapi/v1/exchangeInfo", 200, "7ec4001ae0ee1710d8d69b6a196015cf37558dab10b676b2b671d3606d8b0725"],
    ["/api/v3/exchangeInfo", 200, "08bd395606126e037740c2468898b45a531f404c8e69bb8df15a484c47ec8fc3"],
    ["/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-03.zip", 200, "53ecfc60e7a32a394488a3b4038dc668e0fa919e4aaf847d9dd60c8831ed69e9"],
    ["/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-03.zip.CHECKSUM", 200, "07d084f3db71c14315df19a818ee70b9dcdd0397c9de3f98974fb09fca08648b"],
    ["/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-04.zip", 200, "6efc622ce1574bc990a8d757078f0673bcd29f713ce50e46616aabf9a876c1ca"],
    ["/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-03.zip", 200, "d8e44f847475bba43ff86b2dee77af5aa65634a1ddc6d0b8c4fd9b6bb0ecfb21"],
    ["/data/spot/daily/klines/BTCUSDT/1s/BTCUSDT-1s-2024-06-01.zip.CHECKSUM", 200, "364f804ce6914c4fe6115897c122cc175647ac9e98a60ddbca741017b612be32"],
    ["/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-06.zip", 404, "0019dfc4b32d63c1392aa264aed2253c1e0c2fb09216f8e2cc269bbfb8bb49b5"],
  ])("answers %s byte for byte as before", async (path, status, digest) => {
    const answer = await bytes(standIn, path);
    expect(answer.status).toBe(status);
    expect(sha256(answer.body)).toBe(digest);
  });
});

describe.each(KINDS)("$path", ({ kind, path, param, folder, perMinute }) => {
  let standIn: BinanceStandIn;
  beforeAll(async () => {
    standIn = await startBinanceStandIn({ now: () => NOW });
  });
  afterAll(() => standIn.close());
  beforeEach(() => standIn.reset());

  const start = Date.UTC(2024, 5, 10);
  const price = kind === "premium" ? /^-?\d\.\d{8}$/ : /^\d+\.\d{8}$/;

  it("answers Binance's 12-field rows from startTime, oldest first, at most limit", async () => {
    const { status, body } = await get(standIn, path, { [param]: "BTCUSDT", interval: "1m", startTime: start + 1, limit: 3 });
    expect(status).toBe(200);
    const rows = body as Row[];
    expect(rows.map(([open]) => open)).toEqual([start + MINUTE, start + 2 * MINUTE, start + 3 * MINUTE]);
    for (const row of rows) {
      expect(row).toHaveLength(12);
      const [open, o, h, l, c, volume, close, quote, count, takerBase, takerQuote, ignore] = row;
      expect([volume, quote, takerBase, takerQuote, ignore]).toEqual(["0", "0", "0", "0", "0"]);
      expect(close).toBe(open + MINUTE - 1);
      expect(count).toBe(perMinute);
      for (const value of [o, h, l, c]) expect(value).toMatch(price);
      expect(Number(h)).toBeGreaterThanOrEqual(Math.max(Number(o), Number(c)));
      expect(Number(l)).toBeLessThanOrEqual(Math.min(Number(o), Number(c)));
      expect(row).toEqual(priceKlineAt(kind, "BTCUSDT", open, open + MINUTE));
    }
    // A candle opens where the one before it closed.
    expect(rows[1]?.[1]).toBe(rows[0]?.[4]);
    expect(rows[2]?.[1]).toBe(rows[1]?.[4]);
  });

  it("follows the trade price: mark and index within a fraction of a percent, the premium index a small signed number", async () => {
    const { body } = await get(standIn, path, { [param]: "BTCUSDT", interval: "1h", startTime: start, limit: 48 });
    const { body: trades } = await get(standIn, "/fapi/v1/klines", { symbol: "BTCUSDT", interval: "1h", startTime: start, limit: 48 });
    const rows = body as Row[];
    expect(rows).toHaveLength(48);
    rows.forEach((row, i) => {
      const trade = Number((trades as Row[])[i]?.[1]);
      if (kind === "premium") expect(Math.abs(Number(row[1]))).toBeLessThan(0.001);
      else expect(Math.abs(Number(row[1]) / trade - 1)).toBeLessThan(0.001);
    });
    if (kind === "premium") expect(rows.some((row) => Number(row[1]) < 0) && rows.some((row) => Number(row[1]) > 0)).toBe(true);
  });

  it("answers the last 500 up to now by default, the one open at now still forming (its close time ahead)", async () => {
    const { body } = await get(standIn, path, { [param]: "BTCUSDT", interval: "1m" });
    const rows = body as Row[];
    expect(rows).toHaveLength(500);
    const forming = Date.UTC(2024, 5, 15, 12, 30);
    expect(rows.at(-1)?.[0]).toBe(forming);
    expect(rows.at(-1)?.[6]).toBeGreaterThan(NOW);
    expect(rows[0]?.[0]).toBe(forming - 499 * MINUTE);
  });

  it("pages as /fapi/v1/klines does: endTime inclusive, limit up to 1500, pages that join up", async () => {
    const { body } = await get(standIn, path, { [param]: "BTCUSDT", interval: "1m", startTime: start, endTime: start + 10 * MINUTE, limit: 1500 });
    expect((body as Row[]).map(([open]) => open)).toEqual(Array.from({ length: 11 }, (_, i) => start + i * MINUTE));
    const { body: last } = await get(standIn, path, { [param]: "BTCUSDT", interval: "1m", endTime: start + 10 * MINUTE, limit: 2 });
    expect((last as Row[]).map(([open]) => open)).toEqual([start + 9 * MINUTE, start + 10 * MINUTE]);
    const { body: full } = await get(standIn, path, { [param]: "BTCUSDT", interval: "1m", startTime: start, limit: 1500 });
    expect(full as Row[]).toHaveLength(1500);
    // Two days of minutes in pages of 1000: every minute once, in order.
    const rows = await pageAll(standIn, path, { [param]: "BTCUSDT", interval: "1m" }, start, start + 2 * DAY - 1, 1000);
    expect(rows).toHaveLength(2 * 1440);
    expect(rows.every(([open], i) => open === start + i * MINUTE)).toBe(true);
    expect(standIn.requests[path]).toBe(6);
  });

  it("weighs a request by its limit, as Binance's USD-M klines do", async () => {
    const weights: string[] = [];
    for (const limit of [99, 100, 500, 1001]) {
      standIn.reset();
      const { headers } = await get(standIn, path, { [param]: "BTCUSDT", interval: "1m", startTime: start, limit });
      weights.push(headers.get("x-mbx-used-weight-1m") ?? "");
    }
    expect(weights).toEqual(["1", "2", "5", "10"]);
  });

  it("answers Binance's errors: a missing symbol or pair, an unknown interval (1s included), a bad limit", async () => {
    const missing = await get(standIn, path, { [param === "pair" ? "symbol" : "pair"]: "BTCUSDT", interval: "1m" });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ code: -1102, msg: `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.` });
    for (const interval of ["1s", "7m", ""]) {
      const wrong = await get(standIn, path, { [param]: "BTCUSDT", interval });
      expect([wrong.status, (wrong.body as { code: number }).code]).toEqual([400, -1120]);
    }
    for (const limit of [0, 1501, 2.5]) {
      const bad = await get(standIn, path, { [param]: "BTCUSDT", interval: "1m", limit });
      expect([bad.status, (bad.body as { code: number }).code]).toEqual([400, -1130]);
    }
  });

  it("has the trouble switches of the klines: empty, short and holed pages, a stuck cursor, 429 and 500", async () => {
    const query = { [param]: "BTCUSDT", interval: "1m", startTime: start, limit: 10 };
    standIn.set({ emptyPages: { count: 1 } });
    expect((await get(standIn, path, query)).body).toEqual([]);
    standIn.set({ shortPages: { count: 1, keep: 4 } });
    expect((await get(standIn, path, query)).body).toHaveLength(4);
    standIn.set({ holedPages: { count: 1, fromMs: start + 2 * MINUTE, toMs: start + 5 * MINUTE } });
    expect(((await get(standIn, path, query)).body as Row[]).map(([open]) => (open - start) / MINUTE)).toEqual([0, 1, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(((await get(standIn, path, query)).body as Row[])[2]?.[0]).toBe(start + 2 * MINUTE);
    standIn.set({ stuckCursor: { count: 2 } });
    await get(standIn, path, query);
    expect(((await get(standIn, path, { ...query, startTime: start + HOUR })).body as Row[])[0]?.[0]).toBe(start);
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 7 } });
    const limited = await get(standIn, path, query);
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "7"]);
    standIn.set({ serverError: { count: 1 } });
    expect((await get(standIn, path, query)).status).toBe(500);
    expect((await get(standIn, path, query)).status).toBe(200);
  });

  it("keeps to the listing, maintenance, delisting and unknown symbols", async () => {
    const listed = Date.UTC(2024, 5, 12, 6);
    const other = await startBinanceStandIn({
      now: () => NOW,
      listedAt: { NEWUSDT: listed },
      delistedAt: { OLDUSDT: Date.UTC(2024, 5, 11) },
      maintenance: [{ fromMs: start + 2 * HOUR, toMs: start + 4 * HOUR }],
      unknownSymbols: ["NOPEUSDT"],
    });
    try {
      const fresh = await get(other, path, { [param]: "NEWUSDT", interval: "1h", startTime: Date.UTC(2024, 0, 1), limit: 2 });
      expect((fresh.body as Row[]).map(([open]) => open)).toEqual([listed, listed + HOUR]);
      const gone = await get(other, path, { [param]: "OLDUSDT", interval: "1h", startTime: start, limit: 1500 });
      expect((gone.body as Row[]).at(-1)?.[0]).toBe(Date.UTC(2024, 5, 10, 23));
      const around = await get(other, path, { [param]: "BTCUSDT", interval: "1h", startTime: start, limit: 4 });
      expect((around.body as Row[]).map(([open]) => (open - start) / HOUR)).toEqual([0, 1, 4, 5]);
      const unknown = await get(other, path, { [param]: "NOPEUSDT", interval: "1h" });
      expect([unknown.status, unknown.body]).toEqual([400, { code: -1121, msg: "Invalid symbol." }]);
    } finally {
      await other.close();
    }
  });

  describe("archive", () => {
    const file = (month: string, interval = "1h", symbol = "BTCUSDT") =>
      `/data/futures/um/monthly/${folder}/${symbol}/${interval}/${symbol}-${interval}-${month}.zip`;

    it.each([
      ["2024-03", "1h", MARCH, APRIL, false],
      ["2024-04", "1h", APRIL, MAY, true],
      ["2024-05", "1m", MAY, JUNE, false],
    ])("holds in %s (%s) exactly REST's rows of the month, a header in even months as trade files", async (month, interval, from, to, header) => {
      const zip = await bytes(standIn, file(month, interval));
      expect(zip.status).toBe(200);
      const { name, text } = csvOf(zip.body);
      expect(name).toBe(`BTCUSDT-${interval}-${month}.csv`);
      const lines = text.split("\n");
      expect(lines.pop()).toBe("");
      if (header) expect(lines.shift()).toBe("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore");
      const rows = await pageAll(standIn, path, { [param]: "BTCUSDT", interval }, from, to - 1);
      expect(rows).toHaveLength((to - from) / (interval === "1h" ? HOUR : MINUTE));
      expect(lines).toEqual(rows.map((row) => row.join(",")));
      const checksum = await fetch(`${standIn.url}${file(month, interval)}.CHECKSUM`);
      expect(await checksum.text()).toBe(`${sha256(zip.body)}  BTCUSDT-${interval}-${month}.zip\n`);
    });

    it("has no file of a month not yet over, nor 1s files", async () => {
      expect((await bytes(standIn, file("2024-06"))).status).toBe(404);
      expect((await bytes(standIn, file("2024-05", "1s"))).status).toBe(404);
      expect((await bytes(standIn, file("2024-05", "1mo"))).status).toBe(200);
    });

    it("takes faults, holes and missing files by a name of its own, leaving the trade file of the same name alone", async () => {
      const trade = "/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-03.zip";
      const own = `${folder}/BTCUSDT-1h-2024-03`;
      standIn.set({ archiveFaults: { [own]: "bad_checksum" }, archiveHoles: { [own]: [{ fromMs: MARCH, toMs: MARCH + DAY }] } });
      const zip = await bytes(standIn, file("2024-03"));
      const lines = csvOf(zip.body).text.trim().split("\n");
      expect(lines).toHaveLength(31 * 24 - 24);
      expect(lines[0]?.startsWith(`${MARCH + DAY},`)).toBe(true);
      const checksum = await (await fetch(`${standIn.url}${file("2024-03")}.CHECKSUM`)).text();
      expect(checksum.split("  ")[0]).not.toBe(sha256(zip.body));
      const tradeZip = await bytes(standIn, trade);
      expect(csvOf(tradeZip.body).text.trim().split("\n")).toHaveLength(31 * 24);
      expect(await (await fetch(`${standIn.url}${trade}.CHECKSUM`)).text()).toBe(`${sha256(tradeZip.body)}  BTCUSDT-1h-2024-03.zip\n`);

      const other = await startBinanceStandIn({ now: () => NOW, archiveMissing: [own] });
      try {
        expect((await bytes(other, file("2024-03"))).status).toBe(404);
        expect((await bytes(other, trade)).status).toBe(200);
      } finally {
        await other.close();
      }
    });
  });
});

describe("/fapi/v1/fundingRate", () => {
  const path = "/fapi/v1/fundingRate";
  const switchAt = Date.UTC(2024, 2, 10);
  const backAt = Date.UTC(2024, 2, 20, 12);
  let standIn: BinanceStandIn;
  beforeAll(async () => {
    standIn = await startBinanceStandIn({
      now: () => NOW,
      // BTCUSDT: 8 h, then 4 h from 10 March, then 8 h again from 20 March 12:00 (the next 8-hourly time is 16:00).
      fundingCadence: { BTCUSDT: [{ fromMs: switchAt, hours: 4 }, { fromMs: backAt, hours: 8 }] },
    });
  });
  afterAll(() => standIn.close());
  beforeEach(() => standIn.reset());

  const records = async (query: Record<string, string | number>) => {
    const { status, body } = await get(standIn, path, query);
    expect(status).toBe(200);
    return body as FundingRecord[];
  };

  it("answers records every 8 hours, at 00:00, 08:00 and 16:00 UTC, from startTime, oldest first", async () => {
    const start = Date.UTC(2024, 0, 1);
    const answer = await records({ symbol: "ETHUSDT", startTime: start, limit: 7 });
    expect(answer.map((record) => record.fundingTime)).toEqual(Array.from({ length: 7 }, (_, i) => start + i * 8 * HOUR));
    for (const record of answer) {
      expect(Object.keys(record)).toEqual(["symbol", "fundingTime", "fundingRate", "markPrice"]);
      expect(record.symbol).toBe("ETHUSDT");
      expect(record.fundingRate).toMatch(/^-?0\.\d{8}$/);
      expect(Math.abs(Number(record.fundingRate))).toBeLessThan(0.001);
      expect(record.markPrice).toMatch(/^\d+\.\d{8}$/);
      expect(record).toEqual(fundingRecordAt("ETHUSDT", record.fundingTime));
    }
    // The mark price of a record is the mark price kline's open at its funding time.
    const { body } = await get(standIn, "/fapi/v1/markPriceKlines", { symbol: "ETHUSDT", interval: "8h", startTime: start, limit: 7 });
    expect((body as Row[]).map((row) => row[1])).toEqual(answer.map((record) => record.markPrice));
  });

  it("answers the records of [startTime, endTime], both inclusive", async () => {
    const day = Date.UTC(2024, 1, 1);
    const answer = await records({ symbol: "ETHUSDT", startTime: day, endTime: day + 16 * HOUR });
    expect(answer.map((record) => (record.fundingTime - day) / HOUR)).toEqual([0, 8, 16]);
    const inside = await records({ symbol: "ETHUSDT", startTime: day + 1, endTime: day + 16 * HOUR - 1 });
    expect(inside.map((record) => (record.fundingTime - day) / HOUR)).toEqual([8]);
  });

  it("answers the most recent 100 by default, none after now; limit up to 1000", async () => {
    const answer = await records({ symbol: "ETHUSDT" });
    expect(answer).toHaveLength(100);
    expect(answer.at(-1)?.fundingTime).toBe(Date.UTC(2024, 5, 15, 8));
    expect(answer[0]?.fundingTime).toBe(Date.UTC(2024, 5, 15, 8) - 99 * 8 * HOUR);
    expect(await records({ symbol: "ETHUSDT", limit: 5 })).toHaveLength(5);
    expect(await records({ symbol: "ETHUSDT", startTime: 0, limit: 1000 })).toHaveLength(1000);
    const late = await records({ symbol: "ETHUSDT", startTime: Date.UTC(2024, 5, 15), endTime: Date.UTC(2024, 6, 1) });
    expect(late.map((record) => record.fundingTime)).toEqual([Date.UTC(2024, 5, 15), Date.UTC(2024, 5, 15, 8)]);
    const before = await records({ symbol: "ETHUSDT", endTime: Date.UTC(2024, 5, 1), limit: 2 });
    expect(before.map((record) => record.fundingTime)).toEqual([Date.UTC(2024, 4, 31, 16), Date.UTC(2024, 5, 1)]);
    for (const limit of [0, 1001, 1.5]) {
      const bad = await get(standIn, path, { symbol: "ETHUSDT", limit });
      expect([bad.status, (bad.body as { code: number }).code]).toEqual([400, -1130]);
    }
    const missing = await get(standIn, path, { limit: 5 });
    expect([missing.status, (missing.body as { code: number }).code]).toEqual([400, -1102]);
  });

  it("has a record once its funding time is reached", async () => {
    let clock = Date.UTC(2024, 5, 15, 16) - 1;
    const ticking = await startBinanceStandIn({ now: () => clock });
    try {
      const last = async () => ((await get(ticking, path, { symbol: "BTCUSDT", limit: 1 })).body as FundingRecord[])[0]?.fundingTime;
      expect(await last()).toBe(Date.UTC(2024, 5, 15, 8));
      clock += 1;
      expect(await last()).toBe(Date.UTC(2024, 5, 15, 16));
    } finally {
      await ticking.close();
    }
  });

  it("follows a symbol's changing cadence, other symbols keeping 8 hours", async () => {
    const answer = await records({ symbol: "BTCUSDT", startTime: Date.UTC(2024, 2, 9), endTime: Date.UTC(2024, 2, 21) - 1, limit: 1000 });
    const times = answer.map((record) => record.fundingTime);
    const expected = [
      ...[0, 8, 16].map((hours) => Date.UTC(2024, 2, 9) + hours * HOUR),
      ...Array.from({ length: (backAt - switchAt) / (4 * HOUR) }, (_, i) => switchAt + i * 4 * HOUR),
      Date.UTC(2024, 2, 20, 16),
    ];
    expect(times).toEqual(expected);
    expect(answer.every((record, i) => record.fundingTime === expected[i] && record.symbol === "BTCUSDT")).toBe(true);
    const eth = await records({ symbol: "ETHUSDT", startTime: switchAt, endTime: switchAt + DAY - 1 });
    expect(eth.map((record) => (record.fundingTime - switchAt) / HOUR)).toEqual([0, 8, 16]);
    // Backwards from an endTime inside the 4-hourly stretch too.
    const back = await records({ symbol: "BTCUSDT", endTime: switchAt + 4 * HOUR, limit: 3 });
    expect(back.map((record) => record.fundingTime)).toEqual([switchAt - 8 * HOUR, switchAt, switchAt + 4 * HOUR]);
  });

  it("keeps to the listing, the delisting and unknown symbols", async () => {
    const other = await startBinanceStandIn({
      now: () => NOW,
      listedAt: { NEWUSDT: Date.UTC(2024, 5, 12, 6) },
      delistedAt: { OLDUSDT: Date.UTC(2024, 5, 11, 8) },
      unknownSymbols: ["NOPEUSDT"],
    });
    try {
      const fresh = ((await get(other, path, { symbol: "NEWUSDT", startTime: 0, limit: 2 })).body as FundingRecord[]).map((r) => r.fundingTime);
      expect(fresh).toEqual([Date.UTC(2024, 5, 12, 8), Date.UTC(2024, 5, 12, 16)]);
      const all = (await get(other, path, { symbol: "NEWUSDT", limit: 1000 })).body as FundingRecord[];
      expect(all).toHaveLength(2 + 3 + 3 + 2);
      const gone = ((await get(other, path, { symbol: "OLDUSDT" })).body as FundingRecord[]).at(-1)?.fundingTime;
      expect(gone).toBe(Date.UTC(2024, 5, 11));
      const unknown = await get(other, path, { symbol: "NOPEUSDT" });
      expect([unknown.status, unknown.body]).toEqual([400, { code: -1121, msg: "Invalid symbol." }]);
    } finally {
      await other.close();
    }
  });

  it("has the trouble switches of the pages: empty, short and holed pages, a stuck cursor, 418 and slow answers", async () => {
    const start = Date.UTC(2024, 1, 1);
    const query = { symbol: "ETHUSDT", startTime: start, limit: 6 };
    standIn.set({ emptyPages: { count: 1 } });
    expect(await records(query)).toEqual([]);
    standIn.set({ shortPages: { count: 1, keep: 2 } });
    expect(await records(query)).toHaveLength(2);
    standIn.set({ holedPages: { count: 1, fromMs: start + 8 * HOUR, toMs: start + 24 * HOUR } });
    expect((await records(query)).map((record) => (record.fundingTime - start) / HOUR)).toEqual([0, 24, 32, 40, 48, 56]);
    expect(await records(query)).toHaveLength(6);
    expect((await records(query))[1]?.fundingTime).toBe(start + 8 * HOUR);
    standIn.set({ stuckCursor: { count: 2 } });
    await records(query);
    expect((await records({ ...query, startTime: start + DAY }))[0]?.fundingTime).toBe(start);
    standIn.set({ banned: { count: 1, retryAfterSeconds: 60 } });
    expect((await get(standIn, path, query)).status).toBe(418);
    standIn.set({ slow: { count: 1, delayMs: 200 } });
    const began = Date.now();
    expect(await records(query)).toHaveLength(6);
    expect(Date.now() - began).toBeGreaterThanOrEqual(190);
    expect(standIn.requests[path]).toBe(9);
  });

  describe("archive", () => {
    const file = (month: string, symbol = "BTCUSDT") => `/data/futures/um/monthly/fundingRate/${symbol}/${symbol}-fundingRate-${month}.zip`;

    it("holds a month's records as REST answers them, under Binance's header, with the cadence's hours", async () => {
      const zip = await bytes(standIn, file("2024-03"));
      expect(zip.status).toBe(200);
      const { name, text } = csvOf(zip.body);
      expect(name).toBe("BTCUSDT-fundingRate-2024-03.csv");
      const lines = text.split("\n");
      expect(lines.pop()).toBe("");
      expect(lines.shift()).toBe("calc_time,funding_interval_hours,last_funding_rate");
      const rest = await records({ symbol: "BTCUSDT", startTime: MARCH, endTime: APRIL - 1, limit: 1000 });
      const hours = (time: number) => (time >= switchAt && time < backAt ? 4 : 8);
      expect(lines).toEqual(rest.map((record) => `${record.fundingTime},${hours(record.fundingTime)},${record.fundingRate}`));
      expect(rest).toHaveLength(9 * 3 + 10.5 * 6 + 1 + 11 * 3);
      expect(rest[0]?.fundingTime).toBe(MARCH);
      expect(rest.at(-1)?.fundingTime).toBe(APRIL - 8 * HOUR);
      const checksum = await fetch(`${standIn.url}${file("2024-03")}.CHECKSUM`);
      expect(await checksum.text()).toBe(`${sha256(zip.body)}  BTCUSDT-fundingRate-2024-03.zip\n`);
    });

    it("has no file of a month not yet over; takes faults, holes and missing files by fundingRate/<name>", async () => {
      expect((await bytes(standIn, file("2024-06"))).status).toBe(404);
      expect((await bytes(standIn, file("2024-05"))).status).toBe(200);
      const own = "fundingRate/ETHUSDT-fundingRate-2024-04";
      standIn.set({ archiveFaults: { [own]: "shifted" }, archiveHoles: { [own]: [{ fromMs: APRIL, toMs: APRIL + DAY }] } });
      const lines = csvOf((await bytes(standIn, file("2024-04", "ETHUSDT"))).body).text.trim().split("\n");
      expect(lines).toHaveLength(1 + 30 * 3 - 3);
      expect(lines[1]).toBe(`${APRIL + DAY + 31 * DAY},8,${fundingRecordAt("ETHUSDT", APRIL + DAY).fundingRate}`);
      const other = await startBinanceStandIn({ now: () => NOW, archiveMissing: [own] });
      try {
        expect((await bytes(other, file("2024-04", "ETHUSDT"))).status).toBe(404);
        expect((await bytes(other, `${file("2024-04", "ETHUSDT")}.CHECKSUM`)).status).toBe(404);
        expect((await bytes(other, file("2024-03", "ETHUSDT"))).status).toBe(200);
      } finally {
        await other.close();
      }
    });
  });
});
