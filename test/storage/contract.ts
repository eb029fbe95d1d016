import { beforeEach, describe, expect, it } from "vitest";
import { InvalidKeyError } from "../../src/errors.js";
import { PreconditionFailedError, type ObjectStore } from "../../src/storage/types.js";
import { mapLimit } from "../../src/util/map-limit.js";

/** Keys every driver must refuse, each for a reason given by assertValidKey. */
export const INVALID_KEYS = ["../x", "/abs", "a//b", ".hidden", "a b", "ü", "%2e%2e/x", "", "a".repeat(2000)];

/** S3 keeps whole seconds; allow that and a little clock skew. */
const CLOCK_SLACK_MS = 2000;

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export interface ContractOptions {
  /**
   * The clock that stamps the store's modification times, in epoch ms: the kernel's for files, the server's for S3.
   * The test process's own clock by default (the two differ when CI runs the suite with libfaketime).
   */
  storeNow?: () => number;
}

/**
 * The ObjectStore contract, run unchanged against every driver.
 * `makeStore` is called before each test and must return an empty store of its own.
 */
export function testObjectStore(
  name: string,
  makeStore: () => ObjectStore | Promise<ObjectStore>,
  options: ContractOptions = {},
): void {
  const storeNow = options.storeNow ?? Date.now;
  function expectRecent(date: Date, since: number): void {
    expect(date).toBeInstanceOf(Date);
    expect(date.getTime()).toBeGreaterThanOrEqual(since - CLOCK_SLACK_MS);
    expect(date.getTime()).toBeLessThanOrEqual(storeNow() + CLOCK_SLACK_MS);
  }

  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;

    beforeEach(async () => {
      store = await makeStore();
    });

    it("round-trips every byte value", async () => {
      await store.put("bytes.bin", ALL_BYTES);

      expect(await store.get("bytes.bin")).toEqual(ALL_BYTES);
    });

    it("stores a string body as its UTF-8 bytes", async () => {
      const text = "open_time,close\n2021-10-22,61 234.5 ü€\n";

      await store.put("text.csv", text, { contentType: "text/csv" });

      expect(Buffer.from((await store.get("text.csv")) ?? []).toString("utf8")).toBe(text);
      expect((await store.head("text.csv"))?.sizeBytes).toBe(Buffer.byteLength(text));
    });

    it("replaces an object on overwrite", async () => {
      await store.put("data.csv", "a much longer first version");
      await store.put("data.csv", "short");

      expect(Buffer.from((await store.get("data.csv")) ?? []).toString()).toBe("short");
      expect((await store.head("data.csv"))?.sizeBytes).toBe(5);
    });

    it("streams an object with its size and modification time", async () => {
      const since = storeNow();
      await store.put("stream.bin", ALL_BYTES);

      const found = await store.getStream("stream.bin");

      expect(found?.sizeBytes).toBe(256);
      expectRecent(found!.modifiedAt, since);
      expect(await readAll(found!.stream)).toEqual(ALL_BYTES);
    });

    it("heads an object: size and modification time", async () => {
      const since = storeNow();
      await store.put("head.csv", "12345");

      const meta = await store.head("head.csv");

      expect(meta?.sizeBytes).toBe(5);
      expectRecent(meta!.modifiedAt, since);
    });

    it("answers null for a missing key from get, getStream and head", async () => {
      await store.put("present.csv", "x");

      expect(await store.get("missing.csv")).toBeNull();
      expect(await store.getStream("missing.csv")).toBeNull();
      expect(await store.head("missing.csv")).toBeNull();
      expect(await store.get("present.csv/inside")).toBeNull();
    });

    it("deletes the keys that exist and ignores missing ones", async () => {
      await store.put("a.csv", "a");
      await store.put("b.csv", "b");

      await store.deleteMany(["a.csv", "never-there.csv", "dir/never.csv"]);
      await store.deleteMany([]);

      expect(await store.get("a.csv")).toBeNull();
      expect((await store.list()).map((o) => o.key)).toEqual(["b.csv"]);
    });

    it("lists by prefix in key order, with sizes", async () => {
      const since = storeNow();
      await store.put("k/c.csv", "ccc");
      await store.put("k/a.csv", "a");
      await store.put("k/b_meta.json", "bb");
      await store.put("kx.csv", "outside");
      await store.put("other.csv", "other");

      const listed = await store.list("k/");

      expect(listed.map(({ key, sizeBytes }) => ({ key, sizeBytes }))).toEqual([
        { key: "k/a.csv", sizeBytes: 1 },
        { key: "k/b_meta.json", sizeBytes: 2 },
        { key: "k/c.csv", sizeBytes: 3 },
      ]);
      for (const item of listed) expectRecent(item.modifiedAt, since);
      expect((await store.list("k")).map((o) => o.key)).toEqual(["k/a.csv", "k/b_meta.json", "k/c.csv", "kx.csv"]);
      expect((await store.list()).map((o) => o.key)).toEqual([
        "k/a.csv",
        "k/b_meta.json",
        "k/c.csv",
        "kx.csv",
        "other.csv",
      ]);
    });

    it("lists nothing on an empty store or an unmatched prefix", async () => {
      expect(await store.list()).toEqual([]);
      expect(await store.list("nothing/")).toEqual([]);
    });

    it("lists more than 1000 keys completely and deletes them in one call", async () => {
      const keys = Array.from({ length: 1205 }, (_, i) => `bulk/${String(i).padStart(5, "0")}.csv`);
      await mapLimit(keys, 32, (key) => store.put(key, key));
      await store.put("kept.csv", "kept");

      const listed = await store.list("bulk/");
      expect(listed.map((o) => o.key)).toEqual(keys);

      await store.deleteMany(keys);

      expect(await store.list("bulk/")).toEqual([]);
      expect((await store.list()).map((o) => o.key)).toEqual(["kept.csv"]);
    });

    it("keeps keys in nested folders apart", async () => {
      await store.put("a/b/c.csv", "abc");
      await store.put("a/b.csv", "ab");
      await store.put("a/bc/d.csv", "abcd");

      expect(Buffer.from((await store.get("a/b/c.csv")) ?? []).toString()).toBe("abc");
      expect((await store.list("a/b")).map((o) => o.key)).toEqual(["a/b.csv", "a/b/c.csv", "a/bc/d.csv"]);
      expect((await store.list("a/b/")).map((o) => o.key)).toEqual(["a/b/c.csv"]);

      await store.deleteMany(["a/b/c.csv"]);

      expect((await store.list()).map((o) => o.key)).toEqual(["a/b.csv", "a/bc/d.csv"]);
    });

    it.each(INVALID_KEYS.map((key) => [key.length > 20 ? `${key.slice(0, 10)}… (${key.length} chars)` : key, key]))(
      "refuses the key %j everywhere and writes nothing",
      async (_label, key) => {
        await store.put("kept.csv", "kept");

        await expect(store.put(key, "x")).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.getStream(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.head(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.deleteMany(["kept.csv", key])).rejects.toBeInstanceOf(InvalidKeyError);

        expect((await store.list()).map((o) => o.key)).toEqual(["kept.csv"]);
      },
    );

    it("creates with ifMatch null only when the key is free", async () => {
      const version = await store.put("index/a.json", "one", { ifMatch: null });
      await expect(store.put("index/a.json", "two", { ifMatch: null })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(Buffer.from((await store.get("index/a.json")) ?? []).toString()).toBe("one");
      expect((await store.list("index/"))[0]?.version).toBe(version);
    });

    it("replaces with ifMatch only at the version given, and writes nothing otherwise", async () => {
      const first = await store.put("index/b.json", "one");
      const second = await store.put("index/b.json", "two", { ifMatch: first });
      await expect(store.put("index/b.json", "three", { ifMatch: first })).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(store.put("index/missing.json", "x", { ifMatch: first })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(Buffer.from((await store.get("index/b.json")) ?? []).toString()).toBe("two");
      expect((await store.getStream("index/b.json"))?.version).toBe(second);
      expect((await store.list("index/")).map((o) => o.key)).toEqual(["index/b.json"]);
    });

    it("loses no increment when 12 writers read, modify and write one object at once, retrying on conflict", async () => {
      await store.put("index/count.json", "0");
      const increment = async () => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const current = await store.getStream("index/count.json");
          if (!current) throw new Error("gone");
          const text = await new Response(current.stream).text();
          try {
            await store.put("index/count.json", String(Number(text) + 1), { ifMatch: current.version });
            return;
          } catch (error) {
            if (!(error instanceof PreconditionFailedError)) throw error;
          }
        }
        throw new Error("no attempt won");
      };
      await Promise.all(Array.from({ length: 12 }, increment));
      expect(Buffer.from((await store.get("index/count.json")) ?? []).toString()).toBe("12");
    });

    it("heads an object with the version put gave it, the one list and getStream give", async () => {
      const version = await store.put("v/head.csv", "one");

      expect((await store.head("v/head.csv"))?.version).toBe(version);
      expect((await store.list("v/"))[0]?.version).toBe(version);
      expect((await store.getStream("v/head.csv"))?.version).toBe(version);
      expect((await store.head("v/head.csv"))?.version).not.toBe(await store.put("v/head.csv", "two"));
    });

    it("deletes an object only while it is at the version judged", async () => {
      const judged = await store.put("v/a.csv", "a");
      const other = await store.put("v/b.csv", "b");
      await store.put("v/b.csv", "b, rewritten since");

      const deleted = await store.deleteIfUnchanged([
        { key: "v/a.csv", version: judged },
        { key: "v/b.csv", version: other },
        { key: "v/gone.csv", version: judged },
      ]);

      expect(deleted).toEqual(["v/a.csv"]);
      expect((await store.list("v/")).map((o) => o.key)).toEqual(["v/b.csv"]);
      expect(Buffer.from((await store.get("v/b.csv")) ?? []).toString()).toBe("b, rewritten since");
    });

    it("copies an object inside the store while its source is at the version given", async () => {
      const source = await store.put("up/source.csv", ALL_BYTES);
      await store.put("live/target.csv", "old");

      const copied = await store.copy("up/source.csv", source, "live/target.csv");

      expect(await store.get("live/target.csv")).toEqual(ALL_BYTES);
      expect((await store.head("live/target.csv"))?.version).toBe(copied);
      expect(await store.get("up/source.csv")).toEqual(ALL_BYTES);
      expect(await store.copy("up/missing.csv", source, "live/other.csv")).toBeNull();
      expect(await store.get("live/other.csv")).toBeNull();
    });

    it("refuses an invalid list prefix", async () => {
      await expect(store.list("../")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.list("/abs")).rejects.toBeInstanceOf(InvalidKeyError);
    });
  });
}
