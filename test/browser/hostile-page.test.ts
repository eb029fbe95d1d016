import { existsSync, readdirSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config.js";
import { startLocalService } from "../../src/local/serve.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { BTC_SPOT, tempDir } from "../support/fixtures.js";
import { launchChromium, pageSettled } from "./support.js";

/** The attacker's name: Chromium resolves it to 127.0.0.1, as a rebinding DNS server makes it do after the page loaded. */
const EVIL = "evil.example";
const PYTHON_ENTRY = "0b0670744f42d25b998f5b2e646d6467.csv";
const COLD = new URLSearchParams({ symbol: "ETHUSDT", interval: "1d", start_date: "2024-01-01", end_date: "2024-01-31" });

let context: BrowserContext;
let closeBrowser: () => Promise<void>;
let binance: BinanceStandIn;
/** The attacker's own web server: one empty page. */
let evilSite: Server;

beforeAll(async () => {
  ({ context, close: closeBrowser } = await launchChromium({ args: [`--host-resolver-rules=MAP ${EVIL} 127.0.0.1`] }));
  binance = await startBinanceStandIn();
  evilSite = createServer((_, res) => res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>evil</title>"));
  await new Promise<void>((ready) => evilSite.listen(0, "127.0.0.1", ready));
});
afterAll(async () => {
  await closeBrowser?.();
  await binance?.close();
  evilSite?.close();
});
beforeEach(() => binance.reset());

/** `npm start` on a folder holding the original's two entries, writes open (no token), Binance the stand-in. */
async function startService() {
  const dir = tempDir({ withPythonCache: true });
  const config = loadConfig({ CACHE_DIR: dir, BINANCE_SPOT_URL: binance.url, BINANCE_FUTURES_URL: binance.url, LOG_LEVEL: "silent" });
  const service = await startLocalService({ ...config, port: 0 });
  await service.idle();
  return { ...service, dir, port: Number(new URL(service.url).port) };
}

/**
 * What Chromium sent the service for `page`, and the status of each answer it let the page see (a refused image's
 * JSON answer is cut by Chromium's opaque-response blocking before the page, or Playwright, sees its status).
 */
function requestsOf(page: Page, serviceUrl: string) {
  const sent = new Set<string>();
  const answered = new Map<string, number>();
  const pathOf = (url: string) => (new URL(url).origin === serviceUrl ? new URL(url).pathname + new URL(url).search : null);
  page.on("request", (request) => {
    const path = pathOf(request.url());
    if (path !== null) sent.add(path);
  });
  page.on("response", (response) => {
    const path = pathOf(response.url());
    if (path !== null) answered.set(path, response.status());
  });
  return { sent, answered };
}

/** Every file under `dir` with its size and modification time: any write shows. */
function filesOf(dir: string): Record<string, string> {
  const entries = readdirSync(dir, { recursive: true, encoding: "utf8" });
  return Object.fromEntries(
    entries.flatMap((name) => {
      const stat = statSync(join(dir, name));
      return stat.isFile() ? [[name, `${stat.size} ${stat.mtimeMs}`]] : [];
    }),
  );
}

const klinesOf = () => binance.served.filter((request) => request.path.endsWith("/klines"));

describe("a page of another site, in Chromium", () => {
  it("cannot make the service spend or write: images and no-cors requests are refused, 403", async () => {
    const service = await startService();
    const page = await context.newPage();
    try {
      const requests = requestsOf(page, service.url);
      await page.goto(`http://${EVIL}:${(evilSite.address() as AddressInfo).port}/`);
      const before = filesOf(service.dir);
      const images = [
        `/api/v1/klines?${COLD}`,
        `/api/v1/backtest/cache/data?${new URLSearchParams({ ...BTC_SPOT, format: "parquet" })}`,
        "/api/v1/backtest/cache/info?refresh=true",
      ];
      const noCors = { klines: `/api/v1/klines?${new URLSearchParams({ ...Object.fromEntries(COLD), symbol: "BTCUSDT" })}`, clear: "/api/v1/backtest/cache/clear" };

      await page.evaluate(
        async ({ base, images, noCors }) => {
          const image = (src: string) =>
            new Promise<void>((done) => {
              const img = new Image();
              img.onload = img.onerror = () => done();
              img.src = base + src;
            });
          await Promise.all([
            ...images.map(image),
            fetch(base + noCors.klines, { mode: "no-cors" }),
            fetch(base + noCors.clear, { method: "POST", mode: "no-cors" }),
          ]);
        },
        { base: service.url, images, noCors },
      );

      expect([...requests.sent].sort()).toEqual([...images, ...Object.values(noCors)].sort());
      expect(Object.fromEntries(requests.answered)).toEqual({ [noCors.klines]: 403, [noCors.clear]: 403 });
      expect(klinesOf()).toEqual([]);
      expect(filesOf(service.dir)).toEqual(before);
      expect(before[PYTHON_ENTRY]).toBeDefined();
    } finally {
      await page.close();
      await service.stop();
    }
  });

  it("on a name rebound to 127.0.0.1 reaches the service only to be refused: the page, its reads and its writes", async () => {
    const service = await startService();
    const page = await context.newPage();
    try {
      const rebound = `http://${EVIL}:${service.port}`;
      const opened = await page.goto(`${rebound}/`);
      expect(opened?.status()).toBe(403);

      const statuses = await page.evaluate(async () => {
        const info = await fetch("/api/v1/backtest/cache/info");
        const clear = await fetch("/api/v1/backtest/cache/clear", { method: "POST" });
        return [info.status, clear.status, ((await clear.json()) as { error: { code: string } }).error.code];
      });

      expect(statuses).toEqual([403, 403, "FORBIDDEN_HOST"]);
      expect(existsSync(join(service.dir, PYTHON_ENTRY))).toBe(true);
    } finally {
      await page.close();
      await service.stop();
    }
  });
});

describe("the service's own admin page, in Chromium", () => {
  it.each(["127.0.0.1", "localhost"])("opens on http://%s:<port> and its writes go through", async (name) => {
    const service = await startService();
    const page = await context.newPage();
    try {
      const opened = await page.goto(`http://${name}:${service.port}/`);
      expect(opened?.status()).toBe(200);
      await pageSettled(page);

      const cleared = await page.evaluate(async () => (await fetch("/api/v1/backtest/cache/clear", { method: "POST" })).status);

      expect(cleared).toBe(200);
      expect(existsSync(join(service.dir, PYTHON_ENTRY))).toBe(false);
    } finally {
      await page.close();
      await service.stop();
    }
  });
});
