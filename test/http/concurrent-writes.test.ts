import { describe, expect, inject, it } from "vitest";
import { createUpstashLeases } from "../../src/counters/upstash.js";
import type { Leases } from "../../src/counters/types.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
import type { CacheMeta } from "../../src/cache/entries/meta.js";
import { datasetKey } from "../../src/cache/entries/key.js";
import { createFsStore } from "../../src/storage/fs.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";
import { s3TestStore } from "../support/s3.js";

const ROUNDS = 5;
const WRITERS = 8;
const CONTAINERS = 4;
const INFO = "/api/v1/backtest/cache/info";
/** A dataset of this file's own: the Upstash leases of its entry are shared with no other test file. */
const ID = { ...BTC_SPOT, symbol: "CONCURRENTUSDT" };

/** Leases that are never to be had: Redis down, as the drivers see it. */
const failingLeases: Leases = {
  acquire: () => Promise.reject(new Error("Redis is down")),
  renew: () => Promise.reject(new Error("Redis is down")),
  release: () => Promise.reject(new Error("Redis is down")),
};

const upstashLeases = () => createUpstashLeases({ url: inject("upstashUrl"), token: inject("upstashToken") });

/** How the writers are spread: one process; containers coordinated by Upstash leases; containers with Redis down. */
const COORDINATIONS = {
  "one process": (store: ObjectStore) => [testApp({ store })],
  "four containers on Upstash leases": (store: ObjectStore) => {
    const leases = upstashLeases();
    return Array.from({ length: CONTAINERS }, () => testApp({ store, leases }));
  },
  "four containers with Redis down": (store: ObjectStore) => Array.from({ length: CONTAINERS }, () => testApp({ store, leases: failingLeases })),
};

const DRIVERS = {
  fs: async () => createFsStore({ baseDir: tempDir() }),
  s3: async () => (await s3TestStore({ prefix: "cache/data" })).store,
};

describe.each(Object.keys(DRIVERS) as (keyof typeof DRIVERS)[])("concurrent PUTs of one dataset on %s", (driver) => {
  it.each(Object.keys(COORDINATIONS) as (keyof typeof COORDINATIONS)[])(
    "%s: each round leaves exactly one writer's CSV and meta, served and listed alike",
    async (coordination) => {
      const store = await DRIVERS[driver]();
      const apps = COORDINATIONS[coordination](store);
      const reader = apps[0] as ReturnType<typeof testApp>;
      for (let round = 0; round < ROUNDS; round++) {
        // Every writer's body has its own number of rows, so the rows say whose CSV and whose meta are there.
        const bodies = Array.from({ length: WRITERS }, (_, i) => klinesCsv(round * WRITERS + i + 1));
        const answers = await Promise.all(
          bodies.map(async (body, i) =>
            (apps[i % apps.length] as ReturnType<typeof testApp>).app.request(dataUrl(ID), {
              method: "PUT",
              headers: { "Content-Type": "text/csv" },
              body,
            }),
          ),
        );
        for (const answer of answers) {
          expect([201, 409]).toContain(answer.status);
          if (answer.status === 409) {
            expect((await jsonOf<ErrorEnvelope>(answer)).error.code).toBe("ENTRY_BUSY");
            expect(Number(answer.headers.get("Retry-After"))).toBeGreaterThan(0);
          }
        }
        const committed = answers.map((answer, i) => (answer.status === 201 ? bodies[i] : null)).filter((body) => body !== null);
        expect(committed.length).toBeGreaterThan(0);

        const csv = await reader.app.request(dataUrl({ ...ID, format: "csv" }));
        expect(csv.status, `round ${round}: the entry is torn`).toBe(200);
        const served = await csv.text();
        expect(committed).toContain(served);
        const rows = served.trimEnd().split("\n").length - 1;
        const json = await jsonOf<SuccessEnvelope<{ meta: CacheMeta; rows: unknown[] }>>(await reader.app.request(dataUrl(ID)));
        expect([json.data.meta.rows, json.data.rows.length]).toEqual([rows, rows]);
        const info = await jsonOf<SuccessEnvelope<{ cache_entries: CacheMeta[] }>>(await reader.app.request(INFO));
        expect(info.data.cache_entries.map((entry) => entry.rows)).toEqual([rows]);
      }
    },
  );
});

describe("a PUT that cannot have its entry's turn", () => {
  it("answers 409 ENTRY_BUSY with Retry-After and writes nothing while another container holds the entry", async () => {
    const leases = upstashLeases();
    const { app, cache } = testApp({ leases, turnWaitMs: 300 });
    const first = await app.request(dataUrl(ID), { method: "PUT", headers: { "Content-Type": "text/csv" }, body: klinesCsv(3) });
    expect(first.status).toBe(201);
    // Another container is writing the entry: it holds the entry's lease.
    const token = await leases.acquire(`lease:entry:${datasetKey(ID)}`, 30_000);
    expect(token).not.toBeNull();

    const busy = await app.request(dataUrl(ID), { method: "PUT", headers: { "Content-Type": "text/csv" }, body: klinesCsv(5) });

    expect(busy.status).toBe(409);
    expect((await jsonOf<ErrorEnvelope>(busy)).error.code).toBe("ENTRY_BUSY");
    expect(Number(busy.headers.get("Retry-After"))).toBeGreaterThan(0);
    const found = await cache.readRows(ID);
    expect(found.hit && found.rows.length).toBe(3);
    await leases.release(`lease:entry:${datasetKey(ID)}`, token as string);
    const again = await app.request(dataUrl(ID), { method: "PUT", headers: { "Content-Type": "text/csv" }, body: klinesCsv(5) });
    expect(again.status).toBe(201);
  });
});

describe("the info index under writers of two containers", () => {
  it("keeps the last committed writer's row when an older writer's index update lands after it", async () => {
    const shared = createFsStore({ baseDir: tempDir() });
    // Container A's index puts wait until let go: its update reads the shard, then stalls before putting it.
    let letGo: () => void = () => {};
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let stalled: () => void = () => {};
    const reachedPut = new Promise<void>((resolve) => (stalled = resolve));
    const slowIndex: ObjectStore = {
      ...shared,
      put: async (key, body, options) => {
        if (key.startsWith("_index/")) {
          stalled();
          await held;
        }
        return shared.put(key, body, options);
      },
    };
    const a = testApp({ store: slowIndex, leases: failingLeases });
    const b = testApp({ store: shared, leases: failingLeases });
    // The index exists (a shard is made only by a listing): info builds it.
    expect((await b.app.request(INFO)).status).toBe(200);

    const put = (app: ReturnType<typeof testApp>, rows: number) =>
      app.app.request(dataUrl(ID), { method: "PUT", headers: { "Content-Type": "text/csv" }, body: klinesCsv(rows) });
    const first = put(a, 3);
    await reachedPut;
    // A's meta is committed and its index update under way; B commits over it and updates the index first.
    expect((await put(b, 7)).status).toBe(201);
    letGo();
    expect((await first).status).toBe(201);

    const served = await jsonOf<SuccessEnvelope<{ meta: CacheMeta }>>(await b.app.request(dataUrl(ID)));
    expect(served.data.meta.rows).toBe(7);
    const info = await jsonOf<SuccessEnvelope<{ cache_entries: CacheMeta[] }>>(await b.app.request(INFO));
    expect(info.data.cache_entries.map((entry) => entry.rows)).toEqual([7]);
  });
});
