import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { createFsStore } from "../../src/storage/fs.js";
import { DATA, testApp } from "../support/app.js";
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
const ROUTES = [
  { method: "GET", path: DATA },
  { method: "PUT", path: DATA },
  { method: "DELETE", path: DATA },
  { method: "POST", path: "/api/v1/backtest/cache/upload-url" },
  { method: "POST", path: "/api/v1/backtest/cache/commit" },
];

/** Every hostile value in every field on every route, plus duplicated and missing parameters. */
function* hostileRequests(): Generator<{ label: string; method: string; url: string; field: string }> {
  for (const route of ROUTES) {
    for (const field of FIELDS) {
      for (const value of HOSTILE_VALUES) {
        const params = new URLSearchParams({ ...BTC_SPOT, [field]: value });
        yield { label: `${route.method} ${field}=${JSON.stringify(value.slice(0, 20))}`, method: route.method, url: `${route.path}?${params}`, field };
      }
      const duplicated = new URLSearchParams(BTC_SPOT);
      duplicated.append(field, BTC_SPOT[field]);
      yield { label: `${route.method} ${field} twice`, method: route.method, url: `${route.path}?${duplicated}`, field };
      if (field !== "market_type") {
        const missing = new URLSearchParams(BTC_SPOT);
        missing.delete(field);
        yield { label: `${route.method} no ${field}`, method: route.method, url: `${route.path}?${missing}`, field };
      }
    }
  }
}

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
    for (const object of await store.list()) expect(object.key).toMatch(/^[0-9a-f]{32}(\.csv|_meta\.json)$/);
    expect(readdirSync(base).filter((name) => !/^[0-9a-f]{32}(\.csv|_meta\.json)$/.test(name))).toEqual([".tmp"]);
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
