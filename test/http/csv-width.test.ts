import { tableFromIPC } from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import { describe, expect, it } from "vitest";
import { MAX_COLUMNS } from "../../src/csv/check.js";
import { BATCH_CELLS } from "../../src/formats/records.js";
import { createFsStore } from "../../src/storage/fs.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, tempDir } from "../support/fixtures.js";
import { s3TestStore } from "../support/s3.js";
import { storeUncheckedEntry } from "../support/unchecked-entry.js";

const NOW = "2026-11-25T12:00:00.000Z";

/** A CSV of `columns` columns (`timestamp` and numbered ones) and `rows` rows, every cell a digit or two. */
function wideCsv(columns: number, rows: number): string {
  const names = ["timestamp", ...Array.from({ length: columns - 1 }, (_, i) => `c${i}`)];
  const lines = [names.join(",")];
  for (let row = 0; row < rows; row++) {
    const stamp = new Date(Date.UTC(2021, 9, 22) + row * 60_000).toISOString().slice(0, 19).replace("T", " ");
    lines.push(`${stamp},${Array.from({ length: columns - 1 }, (_, i) => (row + i) % 100).join(",")}`);
  }
  return lines.join("\n") + "\n";
}

const put = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });

describe(`CSVs wider than ${MAX_COLUMNS} columns`, () => {
  it(`are refused by PUT with 400 INVALID_BODY; ${MAX_COLUMNS} are stored`, async () => {
    const { app } = testApp();
    const refused = await app.request(dataUrl(BTC_SPOT), put(wideCsv(MAX_COLUMNS + 1, 2)));
    expect(refused.status).toBe(400);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error).toEqual({ code: "INVALID_BODY", message: `CSV header has ${MAX_COLUMNS + 1} columns; at most ${MAX_COLUMNS} are accepted` });
    expect((await app.request(dataUrl(BTC_SPOT), put(wideCsv(MAX_COLUMNS, 2)))).status).toBe(201);
  });

  it("are refused by commit after an upload, and nothing is served", async () => {
    const { store } = await s3TestStore({ prefix: "cache/data" });
    const { app } = testApp({ store });
    const csv = wideCsv(MAX_COLUMNS + 1, 2);
    const issued = await app.request(dataUrl({ ...BTC_SPOT, size_bytes: String(Buffer.byteLength(csv)) }, "/api/v1/backtest/cache/upload-url"), {
      method: "POST",
    });
    const answer = (await issued.json()) as { data: { url: string; headers: Record<string, string>; upload_id: string } };
    // fetch sets Content-Length itself.
    const { "Content-Length": _, ...headers } = answer.data.headers;
    expect((await fetch(answer.data.url, { method: "PUT", body: csv, headers })).status).toBe(200);
    const commitUrl = dataUrl({ ...BTC_SPOT, upload_id: answer.data.upload_id }, "/api/v1/backtest/cache/commit");
    const committed = await app.request(commitUrl, { method: "POST" });
    expect(committed.status).toBe(400);
    const { error } = (await committed.json()) as { error: { code: string; message: string } };
    expect(error).toEqual({ code: "INVALID_BODY", message: `CSV header has ${MAX_COLUMNS + 1} columns; at most ${MAX_COLUMNS} are accepted` });
    expect((await app.request(dataUrl(BTC_SPOT))).status).toBe(404);
  });
});

describe("columnar batches sized by cells", () => {
  it("answers a 10,000-column entry stored before the cap in Arrow batches and Parquet row groups of at most BATCH_CELLS cells", async () => {
    const columns = 10_000;
    const rows = 400;
    const store = createFsStore({ baseDir: tempDir() });
    await storeUncheckedEntry(store, BTC_SPOT, wideCsv(columns, rows), rows, new Date(NOW));
    const { app } = testApp({ store, now: NOW });

    const arrow = await app.request(dataUrl({ ...BTC_SPOT, format: "arrow" }));
    expect(arrow.status).toBe(200);
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    expect(table.numRows).toBe(rows);
    expect(table.numCols).toBe(columns);
    const perBatch = Math.floor(BATCH_CELLS / columns);
    expect(table.batches.map((batch) => batch.numRows)).toEqual([perBatch, perBatch, rows - 2 * perBatch]);
    expect(table.get(rows - 1)?.toJSON().c9998).toBe(BigInt((rows - 1 + 9998) % 100));

    const parquet = await app.request(dataUrl({ ...BTC_SPOT, format: "parquet" }));
    expect(parquet.status).toBe(200);
    const metadata = parquetMetadata(await parquet.arrayBuffer());
    expect(metadata.row_groups.map((group) => Number(group.num_rows))).toEqual([perBatch, perBatch, rows - 2 * perBatch]);
    // Four million cells converted twice: ~10 s alone, three times that on a shared two-core machine. The limit is
    // the runner's guard against a hang, not a bound on speed (that is npm run bench's).
  }, 120_000);
});
