import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config.js";
import { ConfigError } from "../../src/errors.js";

describe("loadConfig", () => {
  it("has defaults that run the local server on a folder", () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      storageDriver: "fs",
      cacheDir: "./cache/data",
      s3Prefix: "cache/data",
      recentWindowDays: 1,
      recentTtlSeconds: 86_400,
      inlineMaxBytes: 5 * 2 ** 20,
      maxBodyBytes: 128 * 2 ** 20,
      cacheApiToken: undefined,
      logLevel: "info",
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      PORT: "8080",
      STORAGE_DRIVER: "s3",
      S3_BUCKET: "candles",
      S3_PREFIX: "/team/cache/",
      AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
      AWS_REGION: "eu-west-1",
      CACHE_API_TOKEN: "t",
      MAX_BODY_MB: "0.5",
      RECENT_WINDOW_DAYS: "2",
      RECENT_TTL_SECONDS: "60",
      INLINE_MAX_MB: "4",
      LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({
      port: 8080,
      storageDriver: "s3",
      s3Bucket: "candles",
      s3Prefix: "team/cache",
      s3Endpoint: "http://127.0.0.1:4566",
      awsRegion: "eu-west-1",
      cacheApiToken: "t",
      maxBodyBytes: 524_288,
      recentWindowDays: 2,
      recentTtlSeconds: 60,
      inlineMaxBytes: 4 * 2 ** 20,
      logLevel: "debug",
    });
  });

  it("prefers S3_ENDPOINT over AWS_ENDPOINT_URL and treats empty values as unset", () => {
    expect(loadConfig({ S3_ENDPOINT: "http://a:1", AWS_ENDPOINT_URL: "http://b:2" }).s3Endpoint).toBe("http://a:1");
    expect(loadConfig({ PORT: "", CACHE_API_TOKEN: "" })).toMatchObject({ port: 3000, cacheApiToken: undefined });
  });

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ STORAGE_DRIVER: "gcs" }, "STORAGE_DRIVER"],
    [{ MAX_BODY_MB: "-1" }, "MAX_BODY_MB"],
    [{ RECENT_TTL_SECONDS: "soon" }, "RECENT_TTL_SECONDS"],
    [{ S3_ENDPOINT: "not a url" }, "S3_ENDPOINT"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ STORAGE_DRIVER: "s3" }, "S3_BUCKET"],
    [{ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079" }, "UPSTASH_REDIS_REST_TOKEN"],
    [{ CLEAR_ON_START: "yes" }, "CLEAR_ON_START"],
    [{ BINANCE_SPOT_URL: "api.binance.com" }, "BINANCE_SPOT_URL"],
  ])("names the variable of a bad value: %j", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it("picks Upstash only when its URL is set, and memory otherwise", () => {
    expect(loadConfig({}).upstash).toBeUndefined();
    expect(loadConfig({ UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" }).upstash).toEqual({
      url: "https://x.upstash.io",
      token: "t",
    });
  });

  it("uses Binance's production URLs, the testnet ones with BINANCE_TESTNET, or explicit ones", () => {
    expect(loadConfig({})).toMatchObject({ binanceSpotUrl: "https://api.binance.com", binanceFuturesUrl: "https://fapi.binance.com" });
    expect(loadConfig({ BINANCE_TESTNET: "true" })).toMatchObject({
      binanceSpotUrl: "https://testnet.binance.vision",
      binanceFuturesUrl: "https://testnet.binancefuture.com",
    });
    expect(loadConfig({ BINANCE_TESTNET: "true", BINANCE_SPOT_URL: "http://127.0.0.1:1" }).binanceSpotUrl).toBe("http://127.0.0.1:1");
  });

  it("reads ALLOWED_HOSTS as names with or without a port, normalized; none by default", () => {
    expect(loadConfig({}).allowedHosts).toEqual([]);
    expect(loadConfig({ ALLOWED_HOSTS: " Cache.LAN, box.local:8443,,[0:0:0:0:0:0:0:1]:3000 , 192.168.1.5" }).allowedHosts).toEqual([
      { hostname: "cache.lan" },
      { hostname: "box.local", port: 8443 },
      { hostname: "[::1]", port: 3000 },
      { hostname: "192.168.1.5" },
    ]);
  });

  it.each(["http://cache.lan", "cache.lan/x", "user@cache.lan", "cache.lan:0", "cache.lan:70000", "cache lan", "[zz]:1", "*.lan"])(
    "refuses ALLOWED_HOSTS entry %j, naming the variable and the entry",
    (entry) => {
      const load = () => loadConfig({ ALLOWED_HOSTS: `ok.lan,${entry}` });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(`ALLOWED_HOSTS="ok.lan,${entry}": ${JSON.stringify(entry)} is not a host or host:port`);
    },
  );

  it("refuses a symbol-list TTL that would lapse between warmups", () => {
    expect(loadConfig({}).symbolsCacheTtlSeconds).toBe(600);
    expect(loadConfig({}).warmupIntervalSeconds).toBe(300);
    expect(() => loadConfig({ SYMBOLS_CACHE_TTL_SECONDS: "300" })).toThrow(/SYMBOLS_CACHE_TTL_SECONDS \(300\) must be longer than WARMUP_INTERVAL_SECONDS \(300\)/);
    expect(() => loadConfig({ WARMUP_INTERVAL_SECONDS: "900" })).toThrow(ConfigError);
    expect(loadConfig({ WARMUP_INTERVAL_SECONDS: "60", SYMBOLS_CACHE_TTL_SECONDS: "120" }).warmupIntervalSeconds).toBe(60);
  });
});
