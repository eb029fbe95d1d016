import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { describe, expect, inject, it } from "vitest";
import { InvalidKeyError, StorageUnavailableError } from "../../src/errors.js";
import { createS3Store } from "../../src/storage/s3.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { S3_TEST_CREDENTIALS, s3TestStore } from "../support/s3.js";
import { testObjectStore } from "./contract.js";

testObjectStore("s3", async () => (await s3TestStore({ prefix: "cache/data" })).store);

/** Every key in the bucket, seen by the raw client. */
async function bucketKeys(client: S3Client, bucket: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((o) => o.Key ?? "");
}

/** Runs `op`, expects it to fail with StorageUnavailableError, and returns the error and how long it took. */
async function failureOf(op: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await op().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageUnavailableError);
  return { error, ms: performance.now() - started };
}

/** A TCP server that accepts connections and never answers. */
async function blackHole(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Between two bytes of trickle(): a tenth of the socket timeout used against it. */
const TRICKLE_EVERY_MS = 50;

/** An HTTP server whose every answer is a 1 MB body sent one byte per TRICKLE_EVERY_MS: never idle, never done. */
async function trickle(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createHttpServer((_req, res) => {
    res.writeHead(200, { "content-length": "1000000", "last-modified": new Date().toUTCString() });
    const timer = setInterval(() => res.write("x"), TRICKLE_EVERY_MS);
    res.on("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL nobody listens on. */
async function closedPortUrl(): Promise<string> {
  const { url, close } = await blackHole();
  await close();
  return url;
}

function storeAt(endpoint: string, timeoutMs: number): ObjectStore {
  return createS3Store({ bucket: "any", endpoint, credentials: S3_TEST_CREDENTIALS, timeoutMs });
}

describe("s3 store", () => {
  it("keeps objects under <prefix>/ in the bucket", async () => {
    const { store, client, bucket } = await s3TestStore({ prefix: "cache/data" });

    await store.put("a.csv", "a");
    await store.put("x/b_meta.json", "b");

    expect(await bucketKeys(client, bucket)).toEqual(["cache/data/a.csv", "cache/data/x/b_meta.json"]);
    expect((await store.list()).map((o) => o.key)).toEqual(["a.csv", "x/b_meta.json"]);
  });

  it("works at the bucket root when the prefix is empty", async () => {
    const { store, client, bucket } = await s3TestStore({ prefix: "" });

    await store.put("a.csv", "a");
    await store.put("x/b.csv", "b");

    expect(await bucketKeys(client, bucket)).toEqual(["a.csv", "x/b.csv"]);
    expect((await store.list("x/")).map((o) => o.key)).toEqual(["x/b.csv"]);
    expect(Buffer.from((await store.get("x/b.csv")) ?? []).toString()).toBe("b");
    await store.deleteMany(["a.csv", "x/b.csv"]);
    expect(await bucketKeys(client, bucket)).toEqual([]);
  });

  it("neither lists nor deletes objects outside its prefix", async () => {
    const { store, client, bucket } = await s3TestStore({ prefix: "cache" });
    for (const Key of ["a.csv", "cache-old/a.csv", "cachea.csv", "other/cache/a.csv"]) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: "outside" }));
    }
    await store.put("a.csv", "inside");

    expect((await store.list()).map((o) => o.key)).toEqual(["a.csv"]);
    await store.deleteMany(["a.csv"]);

    expect(await bucketKeys(client, bucket)).toEqual(["a.csv", "cache-old/a.csv", "cachea.csv", "other/cache/a.csv"]);
  });

  it("accepts a prefix with slashes around it and refuses a bad one at once", () => {
    expect(() => createS3Store({ bucket: "b", prefix: "/cache/data/" })).not.toThrow();
    expect(() => createS3Store({ bucket: "b", prefix: "cache/../x" })).toThrow(InvalidKeyError);
  });

  it("hands out presigned PUT and GET URLs that work with plain fetch; the PUT URL creates its object once", async () => {
    const { store } = await s3TestStore({ prefix: "cache" });
    const body = "open_time,close\n1,2\n";
    const terms = { contentType: "text/csv", sizeBytes: body.length, createOnly: true };
    const headers = { "content-type": "text/csv", "if-none-match": "*" };

    const putUrl = await store.presigner!.putUrl("up/load.csv", 60, terms);
    const put = await fetch(putUrl, { method: "PUT", body, headers });
    const again = await fetch(putUrl, { method: "PUT", body: "open_time,close\n3,4\n", headers });
    const getUrl = await store.presigner!.getUrl("up/load.csv", 60);
    const got = await fetch(getUrl);

    // moto checks neither signatures nor expiry, so the URL's shape is checked here instead: S3 refuses an upload
    // whose type, length or If-None-Match differ from the signed ones.
    expect(new URL(putUrl).searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host;if-none-match");
    expect(again.status).toBe(412);
    expect(putUrl).not.toMatch(/checksum/i);
    expect(new URL(putUrl).pathname).toMatch(/\/cache\/up\/load\.csv$/);
    expect(put.status).toBe(200);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("text/csv");
    expect(await got.text()).toBe(body);
    expect((await store.head("up/load.csv"))?.sizeBytes).toBe(body.length);
  });

  it("refuses invalid keys in presigned URLs", async () => {
    const { store } = await s3TestStore();

    await expect(store.presigner!.getUrl("../x", 60)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.presigner!.putUrl("a b", 60, { contentType: "text/csv", sizeBytes: 1, createOnly: true })).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
  });

  it("bounds get as a whole, but getStream only until the headers", async () => {
    const timeoutMs = 10 * TRICKLE_EVERY_MS;
    const server = await trickle();
    const store = storeAt(server.url, timeoutMs);
    try {
      await expect(store.get("a.csv")).rejects.toThrow(`timed out after ${timeoutMs} ms`);

      const found = await store.getStream("a.csv");
      const reader = found!.stream.getReader();
      // Bytes that cannot all have come before three times the deadline has passed: the stream outlived it.
      const wanted = (3 * timeoutMs) / TRICKLE_EVERY_MS + 1;
      let received = 0;
      while (received < wanted) {
        const { done, value } = await reader.read();
        expect(done, `the stream ended after ${received} bytes`).toBe(false);
        received += value?.byteLength ?? 0;
      }
      await reader.cancel();

      expect(found!.sizeBytes).toBe(1_000_000);
    } finally {
      await server.close();
    }
  });

  it("fails fast with StorageUnavailableError when nothing listens, without waiting for its deadline", async () => {
    // A deadline past the test's own timeout: a failure that comes at all came from the refused connection.
    const store = storeAt(await closedPortUrl(), 120_000);

    for (const { error } of [await failureOf(() => store.get("a.csv")), await failureOf(() => store.list())]) {
      expect(String(error)).not.toMatch(/timed out/);
    }
  });

  it("gives up at timeoutMs when the server never answers", async () => {
    const server = await blackHole();
    const store = storeAt(server.url, 400);
    try {
      // A black hole never answers: each call ends at its deadline, which its error names, and not before (half of
      // it: a timer may fire early by the work its event-loop turn did before it was set).
      const failures = await Promise.all([
        failureOf(() => store.get("a.csv")),
        failureOf(() => store.getStream("a.csv")),
        failureOf(() => store.put("a.csv", "a")),
        failureOf(() => store.head("a.csv")),
        failureOf(() => store.list()),
        failureOf(() => store.deleteMany(["a.csv"])),
      ]);
      for (const { error, ms } of failures) {
        expect(String(error)).toMatch(/failed: timed out after 400 ms$/);
        expect(ms).toBeGreaterThanOrEqual(200);
      }
    } finally {
      await server.close();
    }
  });

  it("reports a missing bucket as StorageUnavailableError", async () => {
    const store = createS3Store({
      bucket: "no-such-bucket-here",
      endpoint: inject("s3Endpoint"),
      credentials: S3_TEST_CREDENTIALS,
    });

    await expect(store.get("a.csv")).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.getStream("a.csv")).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.put("a.csv", "a")).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.list()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.deleteMany(["a.csv"])).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.get("a.csv")).rejects.toThrow(/NoSuchBucket/);
  });

  it("reports keys that DeleteObjects could not delete", async () => {
    const { client, bucket } = await s3TestStore();
    const send = client.send.bind(client);
    client.send = (async (command: unknown, ...rest: unknown[]) => {
      if (command instanceof DeleteObjectsCommand) {
        return { Errors: [{ Key: "a.csv", Code: "AccessDenied", Message: "Access Denied" }] };
      }
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as S3Client["send"];
    const store = createS3Store({ bucket, client });

    const failure = store.deleteMany(["a.csv", "b.csv"]);

    await expect(failure).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(failure).rejects.toThrow(/a\.csv: AccessDenied/);
  });
});
