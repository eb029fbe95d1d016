import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { createFsStore } from "../../src/storage/fs.js";
import { DATA, testApp } from "../support/app.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";

/** Values an attacker or a buggy client might send for any one parameter. */
const HOSTILE_VALUES = [
  "",
  " ",
  "../../etc/passwd",
  "..%2F..%2Fetc",
  "/etc/passwd",
  "BTC/USDT",
  "BTC\\USDT",
  "BTC\u0000USDT",
  "BTC\nUSDT",
  "ВТСUSDT",
  "🚀🚀🚀",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "A".repeat(31),
  "9".repeat(100_000),
  "2021-10-22T00:00:00Z",
  "2021-02-29",
  "-2021-10-22",
  "1m ",
  "1H",
  "SPOT; rm -rf /",
  "${jndi:ldap://x}",
  "%00",
];

const FIELDS = ["symbol", "interval", "start_date", "end_date", "market_type"] as const;
const ROUTES: { method: string; path: string; extra?: Record<string, string> }[] = [
  { method: "GET", path: DATA },
  { method: "PUT", path: DATA },
  { method: "DELETE", path: DATA },
  // With their own parameters valid, so that a 400 is the hostile field's.
  { method: "POST", path: "/api/v1/backtest/cache/upload-url", extra: { size_bytes: "100" } },
  { method: "POST", path: "/api/v1/backtest/cache/commit", extra: { upload_id: "1795000000-0123456789abcdef" } },
];
const KLINES = { method: "GET", path: "/api/v1/klines" };

/** Every hostile value in every field on every route, plus duplicated and missing parameters. */
function* hostileRequests(
  routes: readonly { method: string; path: string; extra?: Record<string, string> }[] = ROUTES,
): Generator<{ label: string; method: string; url: string; field: string }> {
  for (const route of routes) {
    const valid = { ...BTC_SPOT, ...route.extra };
    for (const field of FIELDS) {
      for (const value of HOSTILE_VALUES) {
        const params = new URLSearchParams({ ...valid, [field]: value });
        yield { label: `${route.method} ${field}=${JSON.stringify(value.slice(0, 20))}`, method: route.method, url: `${route.path}?${params}`, field };
      }
      const duplicated = new URLSearchParams(valid);
      duplicated.append(field, BTC_SPOT[field]);
      yield { label: `${route.method} ${field} twice`, method: route.method, url: `${route.path}?${duplicated}`, field };
      if (field !== "market_type") {
        const missing = new URLSearchParams(valid);
        missing.delete(field);
        yield { label: `${route.method} no ${field}`, method: route.method, url: `${route.path}?${missing}`, field };
      }
    }
  }
}

let standIn: BinanceStandIn;
beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => Date.parse("2026-11-25T12:00:00.000Z") });
});
afterAll(() => standIn.close());

describe("hostile input", () => {
  it("never answers 5xx, names the bad field, and writes nothing but well-named cache objects", async () => {
    const sandbox = dirname(tempDir());
    const base = join(tempDir(), "cache");
    const { app, store } = testApp({ store: createFsStore({ baseDir: base }) });
    const outsideBefore = readdirSync(dirname(base)).sort();
    let refused = 0;
    for (const request of hostileRequests()) {
      const init = request.method === "PUT" ? { method: "PUT", body: klinesCsv(2), headers: { "Content-Type": "text/csv" } } : { method: request.method };
      const res = await app.request(request.url, init);
      // Every answer is JSON; only the 400s are looked into, and those are the error envelope.
      const body = await jsonOf<ErrorEnvelope>(res);
      // A few hostile-looking values are valid for some field ("1H" is a fine symbol): those get ordinary answers.
      expect([200, 201, 400, 404], request.label).toContain(res.status);
      if (res.status !== 400 || body.error.code === "DIRECT_TRANSFER_UNAVAILABLE") continue;
      expect(body.status, request.label).toBe("error");
      expect(body.error.code, request.label).toBe("VALIDATION_ERROR");
      expect(body.error.issues?.map((issue) => issue.field), request.label).toContain(request.field);
      refused++;
    }
    expect(refused).toBeGreaterThan(500);
    for (const object of await store.list()) expect(object.key).toMatch(/^([0-9a-f]{32}(\.csv|_meta\.json)|_index\/[0-9a-f]\.json)$/);
    expect(readdirSync(base).filter((name) => !/^([0-9a-f]{32}(\.csv|_meta\.json)|_index)$/.test(name))).toEqual([".tmp"]);
    expect(readdirSync(join(base, ".tmp"))).toEqual([]);
    expect(readdirSync(dirname(base)).sort()).toEqual(outsideBefore);
    expect(readdirSync(sandbox)).not.toContain("passwd");
  });

  it.each([
    ["format twice", `${DATA}?${new URLSearchParams({ ...BTC_SPOT, format: "csv" })}&format=json`],
    ["an unknown format", `${DATA}?${new URLSearchParams({ ...BTC_SPOT, format: "xml" })}`],
  ])("refuses %s", async (_, url) => {
    const { app } = testApp({ withPythonCache: true });
    const res = await app.request(url);
    expect(res.status).toBe(400);
    expect((await jsonOf<ErrorEnvelope>(res)).error.issues?.[0]?.field).toBe("format");
  });

  it("refuses hostile bodies without a 5xx or a partial entry", async () => {
    const { app, store } = testApp();
    const url = `${DATA}?${new URLSearchParams(BTC_SPOT)}`;
    const bodies: [string, string][] = [
      ["text/csv", "\u0000\u0001\u0002"],
      ["text/csv", "timestamp\n" + "\"".repeat(10_001)],
      ["text/csv", "timestamp," + "x,".repeat(100_000) + "\n"],
      ["text/csv", "timestamp,open\n2021-10-22 00:00:00,1\n2021-10-22 00:01:00"],
      ["application/json", "null"],
      ["application/json", "[" + "[".repeat(10_000) + "]".repeat(10_001)],
      ["application/json", '[{"timestamp":"2021-10-22","open":1,"__proto__":{"polluted":true}}]'],
      ["application/json", JSON.stringify([{ timestamp: 1, open: 1 }, null])],
      ["application/json", '"\ud800"'],
    ];
    for (const [type, body] of bodies) {
      const res = await app.request(url, { method: "PUT", body, headers: { "Content-Type": type } });
      expect(res.status, body.slice(0, 30)).toBe(400);
      expect((await jsonOf<ErrorEnvelope>(res)).status).toBe("error");
    }
    expect(await store.list()).toEqual([]);
  });
});

describe("hostile input, with a token set", () => {
  const TOKEN = "the-write-token";

  it("lets no anonymous request write an object or reach Binance, valid or not", async () => {
    standIn.reset();
    const { app, store } = testApp({ cacheApiToken: TOKEN, binanceUrl: standIn.url });
    const valid = [
      { method: "PUT", url: `${DATA}?${new URLSearchParams(BTC_SPOT)}` },
      { method: "DELETE", url: `${DATA}?${new URLSearchParams(BTC_SPOT)}` },
      { method: "POST", url: "/api/v1/backtest/cache/clear" },
      { method: "POST", url: "/api/v1/backtest/cache/sweep" },
      { method: "GET", url: `/api/v1/klines?${new URLSearchParams({ ...BTC_SPOT, interval: "1h", end_date: "2021-11-30" })}` },
    ];
    const statuses = new Set<number>();
    for (const request of [...hostileRequests([...ROUTES, KLINES]), ...valid]) {
      const init = request.method === "PUT" ? { method: "PUT", body: klinesCsv(2), headers: { "Content-Type": "text/csv" } } : { method: request.method };
      const res = await app.request(request.url, init);
      statuses.add(res.status);
      expect(res.status, request.method + " " + request.url.slice(0, 80)).toBeLessThan(500);
    }
    expect(await store.list()).toEqual([]);
    expect(standIn.served).toEqual([]);
    expect([...statuses].sort()).toEqual([400, 401, 404]);
  });

  it("answers an anonymous klines request from the cache when all of it is there, else 401 naming what is missing", async () => {
    standIn.reset();
    const { app } = testApp({ cacheApiToken: TOKEN, binanceUrl: standIn.url, now: "2026-11-25T12:00:00.000Z" });
    const query = new URLSearchParams({ symbol: "ETHUSDT", interval: "1d", start_date: "2024-01-01", end_date: "2024-02-29" });
    const anonymous = await app.request(`/api/v1/klines?${query}`);

    expect(anonymous.status).toBe(401);
    expect((await jsonOf<ErrorEnvelope>(anonymous)).error.details).toEqual({
      missing: [
        { start_date: "2024-01-01", end_date: "2024-01-31" },
        { start_date: "2024-02-01", end_date: "2024-02-29" },
      ],
    });
    expect(standIn.served).toEqual([]);
    const withToken = await app.request(`/api/v1/klines?${query}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(withToken.status).toBe(200);
    const hit = await app.request(`/api/v1/klines?${query}`);
    expect(hit.status).toBe(200);
    expect(hit.headers.get("X-Cache")).toBe("HIT");
  });

  it("guards every read with CACHE_READ_TOKEN, which the write token also passes", async () => {
    const { app } = testApp({ cacheApiToken: TOKEN, cacheReadToken: "the-read-token", withPythonCache: true });
    const reads = [`${DATA}?${new URLSearchParams(BTC_SPOT)}`, "/api/v1/backtest/cache/info", "/api/v1/metrics", "/api/v1/symbols/spot", `/api/v1/klines?${new URLSearchParams(BTC_SPOT)}`];
    for (const url of reads) {
      expect((await app.request(url)).status, url).toBe(401);
      expect((await app.request(url, { headers: { Authorization: "Bearer wrong" } })).status, url).toBe(401);
    }
    for (const token of ["the-read-token", TOKEN]) {
      const res = await app.request(reads[1] as string, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    }
    expect((await app.request("/healthz")).status).toBe(200);
    const put = await app.request(`${DATA}?${new URLSearchParams(BTC_SPOT)}`, {
      method: "PUT",
      body: klinesCsv(2),
      headers: { "Content-Type": "text/csv", Authorization: "Bearer the-read-token" },
    });
    expect(put.status).toBe(401);
  });
});

describe("writes without a token", () => {
  it("are closed when deployed: 403 WRITES_DISABLED, and klines that would fetch too", async () => {
    standIn.reset();
    const { app, store } = testApp({ writesWithoutToken: "closed", binanceUrl: standIn.url, withPythonCache: true });
    const keys = (await store.list()).map((object) => object.key);
    for (const [method, url] of [
      ["PUT", `${DATA}?${new URLSearchParams(BTC_SPOT)}`],
      ["DELETE", `${DATA}?${new URLSearchParams(BTC_SPOT)}`],
      ["POST", "/api/v1/backtest/cache/clear"],
      ["POST", "/api/v1/backtest/cache/sweep"],
      ["GET", `/api/v1/klines?${new URLSearchParams({ ...BTC_SPOT, interval: "1h", end_date: "2021-10-31" })}`],
    ] as const) {
      const res = await app.request(url, { method, body: method === "PUT" ? klinesCsv(1) : undefined, headers: { "Content-Type": "text/csv" } });
      expect(res.status, `${method} ${url}`).toBe(403);
      expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("WRITES_DISABLED");
    }
    expect((await store.list()).map((object) => object.key)).toEqual(keys);
    expect(standIn.served).toEqual([]);
    expect((await app.request(`${DATA}?${new URLSearchParams(BTC_SPOT)}`)).status).toBe(200);
  });

  it("are open locally, to curl and to the service's own pages, not to other web pages", async () => {
    const { app } = testApp({ withPythonCache: true });
    const clear = (headers: Record<string, string>) => app.request("http://127.0.0.1:3000/api/v1/backtest/cache/clear", { method: "POST", headers });

    const foreign = await clear({ Origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await jsonOf<ErrorEnvelope>(foreign)).error.code).toBe("FORBIDDEN_ORIGIN");
    expect((await app.request(`${DATA}?${new URLSearchParams(BTC_SPOT)}`)).status).toBe(200);
    expect((await clear({ Origin: "http://127.0.0.1:3000" })).status).toBe(200);
    expect((await clear({})).status).toBe(200);
  });
});

describe("pages of other sites", () => {
  const ORIGIN = "http://127.0.0.1:3000";
  const cold = new URLSearchParams({ symbol: "ETHUSDT", interval: "1d", start_date: "2024-01-01", end_date: "2024-01-31" });
  const data = (extra: Record<string, string> = {}) => `${ORIGIN}${DATA}?${new URLSearchParams({ ...BTC_SPOT, ...extra })}`;
  /** Requests that write to the cache or Redis, or spend Binance's weight, whatever their method. */
  const effectful: [string, string, Record<string, string>?][] = [
    ["GET", `${ORIGIN}/api/v1/klines?${cold}`],
    ["GET", data({ format: "parquet" })],
    ["GET", data(), { Accept: "application/vnd.apache.parquet" }],
    ["GET", `${ORIGIN}/api/v1/backtest/cache/info?refresh=true`],
    ["GET", `${ORIGIN}/api/v1/backtest/cache/info`],
    ["GET", `${ORIGIN}/api/v1/backtest/cache/coverage`],
    ["GET", `${ORIGIN}/api/v1/symbols/spot`],
    ["GET", data()],
    ["HEAD", data({ format: "parquet" })],
    ["PUT", data()],
    ["DELETE", data()],
    ["POST", `${ORIGIN}/api/v1/backtest/cache/clear`],
    ["POST", `${ORIGIN}/api/v1/backtest/cache/sweep`],
    ["POST", `${ORIGIN}/api/v1/backtest/cache/upload-url?${new URLSearchParams(BTC_SPOT)}`],
    ["POST", `${ORIGIN}/api/v1/backtest/cache/commit?${new URLSearchParams(BTC_SPOT)}`],
  ];
  const send = (app: ReturnType<typeof testApp>["app"], [method, url, extra]: (typeof effectful)[number], headers: Record<string, string>) =>
    app.request(url, {
      method,
      headers: { "Content-Type": "text/csv", ...extra, ...headers },
      body: method === "PUT" ? klinesCsv(3) : undefined,
    });
  const keysOf = async (store: ReturnType<typeof testApp>["store"]) => (await store.list()).map((object) => object.key).sort();

  it.each([
    ["Sec-Fetch-Site: cross-site (an <img> or a form; no Origin on a no-cors GET)", { "Sec-Fetch-Site": "cross-site" }],
    ["Sec-Fetch-Site: same-site (another port of the same host)", { "Sec-Fetch-Site": "same-site" }],
    ["an Origin of another site", { Origin: "https://evil.example" }],
    ["an Origin of another port", { Origin: "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-site" }],
    ["Origin: null (a sandboxed frame)", { Origin: "null" }],
  ])("refuse every request that writes or spends, whatever its method, with %s: 403 FORBIDDEN_ORIGIN", async (_, headers) => {
    standIn.reset();
    const { app, store } = testApp({ withPythonCache: true, binanceUrl: standIn.url });
    const before = await keysOf(store);

    for (const request of effectful) {
      const res = await send(app, request, headers);
      expect(res.status, `${request[0]} ${request[1]}`).toBe(403);
      if (request[0] !== "HEAD") expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("FORBIDDEN_ORIGIN");
    }

    expect(await keysOf(store)).toEqual(before);
    expect(standIn.served).toEqual([]);
  });

  it("let the service's own page, the address bar and curl through: the same requests write and spend", async () => {
    standIn.reset();
    const { app, store } = testApp({ withPythonCache: true, binanceUrl: standIn.url });
    const before = await keysOf(store);

    const browsersOwn: Record<string, string>[] = [{ "Sec-Fetch-Site": "same-origin", Origin: ORIGIN }, { "Sec-Fetch-Site": "none" }, {}];
    for (const headers of browsersOwn) {
      for (const request of effectful.slice(0, 4)) {
        const res = await send(app, request, headers);
        expect(res.status, `${request[0]} ${request[1]} ${JSON.stringify(headers)}`).toBe(200);
        await res.arrayBuffer();
      }
    }

    expect(standIn.served.length).toBeGreaterThan(0);
    const written = (await keysOf(store)).filter((key) => !before.includes(key));
    expect(written.some((key) => key.endsWith(".parquet"))).toBe(true);
    expect(written.some((key) => key.startsWith("_index/"))).toBe(true);
  });

  it("may open the admin page and the health check from a link on another site", async () => {
    const { app } = testApp();
    for (const path of ["/", "/healthz"]) {
      const res = await app.request(`${ORIGIN}${path}`, { headers: { "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate" } });
      expect(res.status, path).toBe(200);
    }
  });
});
