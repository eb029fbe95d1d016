import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { dataUrl, testApp } from "../support/app.js";
import { recordingStore } from "../support/recording-store.js";
import { BTC_SPOT, ETH_FUTURES, klinesCsv } from "../support/fixtures.js";

const csvPut = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });


describe("revalidation of data hits", () => {
  it("tags a historical hit, keeps it a year, and answers 304 to its tag reading only the meta", async () => {
    const { store, reads } = recordingStore();
    const { app } = testApp({ store });
    expect((await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(50)))).status).toBe(201);
    const first = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    expect(first.status).toBe(200);
    const tag = first.headers.get("ETag");
    expect(tag).toMatch(/^"[0-9a-f]{32}-csv"$/);
    expect(first.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");

    reads.length = 0;
    const again = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }), { headers: { "If-None-Match": tag as string } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("ETag")).toBe(tag);
    expect(again.headers.get("X-Cache")).toBe("HIT");
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatch(/_meta\.json$/);
  });

  it("gives CSV and JSON their own tags, and a rewritten entry a new one", async () => {
    const { app } = testApp();
    await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(50)));
    const csvTag = (await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }))).headers.get("ETag") as string;
    const json = await app.request(dataUrl(BTC_SPOT), { headers: { "If-None-Match": csvTag } });
    expect(json.status).toBe(200);
    expect(json.headers.get("ETag")).toMatch(/-json"$/);
    expect(json.headers.get("ETag")?.slice(0, 33)).toBe(csvTag.slice(0, 33));

    await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(51)));
    const changed = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }), { headers: { "If-None-Match": csvTag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("ETag")).not.toBe(csvTag);
    expect((await changed.text()).trim().split("\n")).toHaveLength(52);
  });

  it("tags the Python service's entries (no digest in their meta) and answers 304 to the tag, or to *", async () => {
    const { app } = testApp({ withPythonCache: true });
    const first = await app.request(dataUrl(ETH_FUTURES, undefined), { headers: { Accept: "text/csv" } });
    const tag = first.headers.get("ETag") as string;
    expect(tag).toMatch(/^"[0-9a-f]{32}-csv"$/);
    for (const header of [tag, `W/${tag}`, `"other", ${tag}`, "*"]) {
      const res = await app.request(dataUrl(ETH_FUTURES), { headers: { Accept: "text/csv", "If-None-Match": header } });
      expect(res.status, header).toBe(304);
    }
    const other = await app.request(dataUrl(ETH_FUTURES), { headers: { Accept: "text/csv", "If-None-Match": '"other"' } });
    expect(other.status).toBe(200);
  });

  it("keeps a recent entry for what remains of its life, and private when reads need a token", async () => {
    const { app } = testApp({ now: "2026-11-25T08:00:00Z", cacheReadToken: "r" });
    const recent = { ...BTC_SPOT, start_date: "2026-11-25", end_date: "2026-11-25" };
    const auth = { Authorization: "Bearer r" };
    await app.request(dataUrl(recent), { ...csvPut(klinesCsv(2)), headers: { "Content-Type": "text/csv", ...auth } });
    const res = await app.request(dataUrl(recent), { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("private, max-age=86400");
  });

  it("puts no tag on a miss", async () => {
    const { app } = testApp();
    const res = await app.request(dataUrl(BTC_SPOT), { headers: { "If-None-Match": "*" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("ETag")).toBeNull();
  });
});

describe("compressed answers", () => {
  const big = klinesCsv(2000);

  it.each([
    ["gzip", "gzip", gunzipSync],
    ["br", "br;q=1, gzip;q=0.5", brotliDecompressSync],
    ["br", "gzip, deflate, br", brotliDecompressSync],
  ] as const)("streams %s for Accept-Encoding %s, decoding to exactly the plain answer, CSV and JSON", async (coding, accept, decode) => {
    const { app } = testApp();
    await app.request(dataUrl(BTC_SPOT), csvPut(big));
    for (const format of ["csv", "json"]) {
      const plain = await app.request(dataUrl({ ...BTC_SPOT, format }));
      const plainBytes = Buffer.from(await plain.arrayBuffer());
      const packed = await app.request(dataUrl({ ...BTC_SPOT, format }), { headers: { "Accept-Encoding": accept } });
      expect(packed.status).toBe(200);
      expect(packed.headers.get("Content-Encoding")).toBe(coding);
      expect(packed.headers.get("Content-Length")).toBeNull();
      expect(packed.headers.get("Vary")).toBe("Accept-Encoding");
      expect(packed.headers.get("ETag")).toBe(`W/${plain.headers.get("ETag")}`);
      const bytes = Buffer.from(await packed.arrayBuffer());
      expect(bytes.length).toBeLessThan(plainBytes.length / 3);
      expect(decode(bytes).equals(plainBytes)).toBe(true);
    }
  });

  it("answers 304 to the weak tag of a compressed answer", async () => {
    const { app } = testApp();
    await app.request(dataUrl(BTC_SPOT), csvPut(big));
    const headers = { "Accept-Encoding": "gzip" };
    const tag = (await app.request(dataUrl(BTC_SPOT), { headers })).headers.get("ETag") as string;
    expect(tag.startsWith('W/"')).toBe(true);
    const again = await app.request(dataUrl(BTC_SPOT), { headers: { ...headers, "If-None-Match": tag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("ETag")).toBe(tag);
  });

  it("sends identity when no coding is acceptable, and small answers and errors as they are", async () => {
    const { app } = testApp();
    await app.request(dataUrl(BTC_SPOT), csvPut(big));
    for (const accept of ["identity", "gzip;q=0, br;q=0", "deflate", "*;q=0"]) {
      const res = await app.request(dataUrl(BTC_SPOT), { headers: { "Accept-Encoding": accept } });
      expect(res.headers.get("Content-Encoding"), accept).toBeNull();
      expect(res.headers.get("ETag"), accept).toMatch(/^"/);
    }
    const small = { ...ETH_FUTURES, start_date: "2021-01-01", end_date: "2021-01-01" };
    await app.request(dataUrl(small), csvPut(klinesCsv(1)));
    const tiny = await app.request(dataUrl({ ...small, format: "csv" }), { headers: { "Accept-Encoding": "gzip" } });
    expect(tiny.headers.get("Content-Encoding")).toBeNull();
    const missing = await app.request(dataUrl({ ...small, symbol: "XRPUSDT" }), { headers: { "Accept-Encoding": "gzip" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("Content-Encoding")).toBeNull();
    expect((await missing.json()) as unknown).toMatchObject({ status: "error", error: { code: "CACHE_MISS" } });
  });
});
