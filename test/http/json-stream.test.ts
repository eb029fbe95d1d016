import { describe, expect, it } from "vitest";
import { csvToRows } from "../../src/cache/csv.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, klinesCsv } from "../support/fixtures.js";

const csvPut = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });

describe("JSON answers of large entries", () => {
  it("streams the rows of a CSV over 8 MB as it is read, the same bytes as the whole answer would be", async () => {
    const { app } = testApp();
    const csv = klinesCsv(100_000);
    expect(csv.length).toBeGreaterThan(8 * 2 ** 20);
    const put = await app.request(dataUrl(BTC_SPOT), csvPut(csv));
    const { data } = (await put.json()) as { data: { meta: unknown } };
    const res = await app.request(dataUrl(BTC_SPOT));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBeNull();
    expect(await res.text()).toBe(JSON.stringify({ status: "success", data: { meta: data.meta, rows: csvToRows(csv) } }));
  });

  it("answers a large CSV with quoted fields the slow way, with the same rows", async () => {
    const { app } = testApp();
    const lines = klinesCsv(100_000).split("\n");
    lines[1] = lines[1]?.replace(/,0$/, ',"0"') as string;
    const csv = lines.join("\n");
    await app.request(dataUrl(BTC_SPOT), csvPut(csv));
    const res = await app.request(dataUrl(BTC_SPOT));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).not.toBeNull();
    const body = (await res.json()) as { data: { rows: unknown[] } };
    expect(body.data.rows).toEqual(csvToRows(csv));
  });

  it("gzips a streamed JSON answer to the same bytes", async () => {
    const { app } = testApp();
    await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(100_000)));
    const plain = await (await app.request(dataUrl(BTC_SPOT))).text();
    const packed = await app.request(dataUrl(BTC_SPOT), { headers: { "Accept-Encoding": "gzip" } });
    expect(packed.headers.get("Content-Encoding")).toBe("gzip");
    const { gunzipSync } = await import("node:zlib");
    expect(gunzipSync(Buffer.from(await packed.arrayBuffer())).toString("utf8")).toBe(plain);
  });
});
