import { describe, expect, inject, it } from "vitest";
import { createUpstashLeases } from "../../src/counters/upstash.js";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { createFsStore } from "../../src/storage/fs.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";

/** A dataset of this file's own: the Upstash leases of its entry and forms are shared with no other test file. */
const ID = { ...BTC_SPOT, symbol: "CONVERSIONUSDT" };
const PARQUET = dataUrl({ ...ID, format: "parquet" });
const ARROW = dataUrl({ ...ID, format: "arrow" });

/** An fs store that counts the Parquet forms put into it: one put per conversion. */
function countingStore(): { store: ObjectStore; parquetPuts: () => number } {
  const inner = createFsStore({ baseDir: tempDir() });
  let puts = 0;
  return {
    store: {
      ...inner,
      put: async (key, body, options) => {
        if (key.endsWith(".parquet")) puts++;
        return inner.put(key, body, options);
      },
    },
    parquetPuts: () => puts,
  };
}

async function seed(app: ReturnType<typeof testApp>["app"]): Promise<void> {
  const res = await app.request(dataUrl(ID), { method: "PUT", body: klinesCsv(20_000), headers: { "Content-Type": "text/csv" } });
  expect(res.status).toBe(201);
}

describe("conversions to a columnar form", () => {
  it("make one Parquet form for three simultaneous makers of it in one process", async () => {
    const { store, parquetPuts } = countingStore();
    const { app, deriver } = testApp({ store, backgroundForms: false });
    await seed(app);

    const results = await Promise.all([1, 2, 3].map(async () => deriver.derive(ID)));

    expect(results.map((result) => result?.parquet)).toEqual(["made", "made", "made"]);
    expect(parquetPuts()).toBe(1);
    const answers = await Promise.all([1, 2, 3].map(async () => app.request(PARQUET)));
    expect(answers.map((res) => res.headers.get("X-Parquet"))).toEqual(["HIT", "HIT", "HIT"]);
  });

  it("make one Parquet form across containers that share the store and Upstash leases", async () => {
    const { store, parquetPuts } = countingStore();
    const leases = createUpstashLeases({ url: inject("upstashUrl"), token: inject("upstashToken") });
    const containers = [1, 2, 3].map(() => testApp({ store, leases, backgroundForms: false }));
    await seed((containers[0] as ReturnType<typeof testApp>).app);

    const results = await Promise.all(containers.map(async ({ deriver }) => deriver.derive(ID)));

    expect(results.map((result) => result?.parquet).sort()).toEqual(["kept", "kept", "made"]);
    expect(parquetPuts()).toBe(1);
  });

  it("run at most CONVERSIONS_MAX at once: an Arrow answer holds its slot until read, the next gets 503 SERVICE_BUSY", async () => {
    const { app } = testApp({ conversionsMax: 1, conversionWaitMs: 0, backgroundForms: false });
    await seed(app);

    const held = await app.request(ARROW);
    expect(held.status).toBe(200);
    const refused = await app.request(ARROW);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await jsonOf<ErrorEnvelope>(refused)).error.code).toBe("SERVICE_BUSY");
    const parquet = await app.request(PARQUET);
    expect(parquet.status).toBe(503);

    await held.body?.cancel();
    const next = await app.request(ARROW);
    expect(next.status).toBe(200);
    expect((await next.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect((await app.request(PARQUET)).status).toBe(200);
  });
});
