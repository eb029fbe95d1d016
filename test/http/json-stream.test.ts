import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { createFsStore } from "../../src/storage/fs.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../support/fixtures.js";
import { papaparseRows } from "../support/papaparse-rows.js";
import { recordingStore } from "../support/recording-store.js";
import { storeUncheckedEntry } from "../support/unchecked-entry.js";

const csvPut = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });
const NOW = "2026-11-25T12:00:00.000Z";

/** PUTs `csv`, then GETs its JSON: the answer's text, and whether it was streamed (no Content-Length). */
async function putThenJson(csv: string): Promise<{ text: string; streamed: boolean; meta: unknown }> {
  const { app } = testApp({ now: NOW });
  const put = await app.request(dataUrl(BTC_SPOT), csvPut(csv));
  expect(put.status).toBe(201);
  const { data } = (await put.json()) as { data: { meta: unknown } };
  const res = await app.request(dataUrl(BTC_SPOT));
  expect(res.status).toBe(200);
  return { text: await res.text(), streamed: res.headers.get("Content-Length") === null, meta: data.meta };
}

/** The answer as it always was: the meta, and the rows papaparse read of the CSV. */
const expectedAnswer = (csv: string, meta: unknown) => JSON.stringify({ status: "success", data: { meta, rows: papaparseRows(csv) } });

describe("JSON answers of large entries", () => {
  it("streams the rows of a CSV over 8 MB as it is read, the same bytes as the whole answer would be", async () => {
    const csv = klinesCsv(100_000);
    expect(csv.length).toBeGreaterThan(8 * 2 ** 20);
    const { text, streamed, meta } = await putThenJson(csv);
    expect(streamed).toBe(true);
    expect(text).toBe(expectedAnswer(csv, meta));
  });

  it("streams a CRLF CSV over 8 MB too, to the rows of its LF twin", async () => {
    const lf = klinesCsv(100_000);
    const crlf = lf.replaceAll("\n", "\r\n");
    const { text, streamed, meta } = await putThenJson(crlf);
    expect(streamed).toBe(true);
    expect(text).toBe(expectedAnswer(crlf, meta));
    expect((JSON.parse(text) as { data: { rows: unknown[] } }).data.rows).toEqual(papaparseRows(lf));
  });

  it("streams a large CSV with quoted fields (commas, quotes, line breaks inside) to the same rows", async () => {
    const lines = klinesCsv(100_000).split("\n");
    lines[1] = lines[1]?.replace(/,0$/, ',"0"') as string;
    lines[2] = lines[2]?.replace(/,0$/, ',"a, ""b""\nc"') as string;
    lines[50_000] = lines[50_000]?.replace(/^([^,]*)/, '"$1"') as string;
    const csv = lines.join("\n");
    const { text, streamed, meta } = await putThenJson(csv);
    expect(streamed).toBe(true);
    expect(text).toBe(expectedAnswer(csv, meta));
  });

  it("counts a large CSV's rows once per process: a later read streams from a single read of it", async () => {
    const { store, reads } = recordingStore();
    const { app, deriver } = testApp({ store, now: NOW });
    const csv = klinesCsv(100_000);
    const put = await app.request(dataUrl(BTC_SPOT), csvPut(csv));
    const { meta } = ((await put.json()) as { data: { meta: { cache_key: string } } }).data;
    // The writer's job has made the derived forms, its own reads of the CSV done.
    await deriver.idle();
    reads.length = 0;
    const csvReads = () => reads.filter((key) => key === `${meta.cache_key}.csv`).length;
    const first = await app.request(dataUrl(BTC_SPOT));
    expect(await first.text()).toBe(expectedAnswer(csv, meta));
    expect(csvReads()).toBe(2);
    const second = await app.request(dataUrl(BTC_SPOT));
    expect(await second.text()).toBe(expectedAnswer(csv, meta));
    expect(csvReads()).toBe(3);
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

describe("an entry stored before the grammar, which it refuses", () => {
  // The auditor's rows: the older check paired the two quotes across the line break and counted one row.
  const refused = "2021-10-22 23:03:00,1\"2,3,4,5,6,1634943839999,7,8,9,10,0\n2021-10-22 23:04:00,1\"2,3,4,5,6,1634943899999,7,8,9,10,0\n";

  it.each([
    ["small", "", 1],
    ["over 8 MB, streamed otherwise", klinesCsv(100_000), 100_001],
  ])("is a clean miss as JSON, Arrow and Parquet when %s; its CSV is served as stored", async (_, before, rows) => {
    const store = createFsStore({ baseDir: tempDir() });
    const csv = (before || klinesCsv(0)) + refused;
    await storeUncheckedEntry(store, BTC_SPOT, csv, rows, new Date(NOW));
    const { app } = testApp({ store, now: NOW });
    for (const format of ["json", "arrow", "parquet"]) {
      const res = await app.request(dataUrl({ ...BTC_SPOT, format }));
      expect({ format, status: res.status }).toEqual({ format, status: 404 });
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("CACHE_MISS");
    }
    const served = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(csv);
  });

  it("is read alike by every form when the grammar reads it: a CRLF entry stored before", async () => {
    const store = createFsStore({ baseDir: tempDir() });
    const csv = klinesCsv(3).replaceAll("\n", "\r\n");
    await storeUncheckedEntry(store, BTC_SPOT, csv, 3, new Date(NOW));
    const { app } = testApp({ store, now: NOW });
    const json = (await (await app.request(dataUrl(BTC_SPOT))).json()) as { data: { rows: unknown[] } };
    expect(json.data.rows).toEqual(papaparseRows(csv));
    const arrow = tableFromIPC(new Uint8Array(await (await app.request(dataUrl({ ...BTC_SPOT, format: "arrow" }))).arrayBuffer()));
    expect(arrow.numRows).toBe(3);
  });
});
