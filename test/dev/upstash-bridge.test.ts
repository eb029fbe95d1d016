import { randomUUID } from "node:crypto";
import { Redis as UpstashRedis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createUpstashBridge, startUpstashBridge } from "../../dev/upstash-bridge.js";
import { freePort } from "../../dev/ports.js";

const url = inject("upstashUrl");
const token = inject("upstashToken");
const redisUrl = inject("redisUrl");

/** Values a naive bridge would mangle: base64-looking, numeric, JSON, non-ASCII, empty, status-like. */
const TRICKY_VALUES = ["aGVsbG8=", "42", "-7", "3.14", '{"a":[1,"x"]}', '"quoted"', "null", "true", "ü€𝄞", "", "OK", "line\nbreak"];

/** A direct connection to the same redis-server, to look behind the bridge's back. */
let direct: IORedis;
beforeAll(() => {
  direct = new IORedis(redisUrl, { protocol: 2 });
});
afterAll(() => {
  direct.disconnect();
});

const freshKey = (name: string) => `bridge-test:${randomUUID()}:${name}`;

/** POST to the bridge as the client does, but with full control of the body and headers. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe.each([
  { encoding: "base64" as const },
  { encoding: false as const },
])("the real @upstash/redis client through the bridge, responseEncoding $encoding", ({ encoding }) => {
  /** The client as the service builds it: automatic pipelining on. */
  const redis = new UpstashRedis({ url, token, responseEncoding: encoding, enableAutoPipelining: true, retry: { retries: 0 } });
  /** The same, returning values as stored (no JSON guessing), to check them byte for byte. */
  const raw = new UpstashRedis({
    url,
    token,
    responseEncoding: encoding,
    enableAutoPipelining: true,
    automaticDeserialization: false,
    retry: { retries: 0 },
  });

  it("increments atomically with incr and incrby, batched by automatic pipelining", async () => {
    const key = freshKey("n");

    const results = await Promise.all([
      ...Array.from({ length: 100 }, () => redis.incr(key)),
      ...Array.from({ length: 100 }, () => redis.incrby(key, 3)),
    ]);

    expect(new Set(results).size).toBe(200);
    expect(await redis.get(key)).toBe(400);
    expect(await direct.get(key)).toBe("400");
  });

  it("sets with ex, gets, and reports the ttl", async () => {
    const key = freshKey("s");

    expect(await redis.set(key, "v", { ex: 60 })).toBe("OK");

    expect(await redis.get(key)).toBe("v");
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it("round-trips tricky values exactly, as stored in Redis", async () => {
    const keys = TRICKY_VALUES.map((_, i) => freshKey(`v${i}`));

    await Promise.all(keys.map((key, i) => raw.set(key, TRICKY_VALUES[i])));

    expect(await Promise.all(keys.map((key) => raw.get(key)))).toEqual(TRICKY_VALUES);
    expect(await raw.mget(...keys)).toEqual(TRICKY_VALUES);
    const stored = await Promise.all(keys.map((key) => direct.getBuffer(key)));
    expect(stored).toEqual(TRICKY_VALUES.map((value) => Buffer.from(value, "utf8")));
  });

  it("hands the client's JSON deserialization the same text Upstash would", async () => {
    const key = freshKey("json");
    await redis.set(key, { a: [1, "x"], u: "ü€𝄞" });
    await raw.set(`${key}:n`, "42");
    await raw.set(`${key}:b64`, "aGVsbG8=");

    expect(await redis.get(key)).toEqual({ a: [1, "x"], u: "ü€𝄞" });
    expect(await redis.get(`${key}:n`)).toBe(42);
    expect(await redis.get(`${key}:b64`)).toBe("aGVsbG8=");
  });

  it("answers mget with null for missing keys", async () => {
    const [a, missing, b] = [freshKey("a"), freshKey("missing"), freshKey("b")];
    await Promise.all([raw.set(a, "1"), raw.set(b, "ü")]);

    expect(await raw.mget(a, missing, b)).toEqual(["1", null, "ü"]);
    expect(await redis.get(missing)).toBeNull();
  });

  it("deletes, expires and reports ttl of missing and persistent keys", async () => {
    const [a, b, c] = [freshKey("a"), freshKey("b"), freshKey("c")];
    await Promise.all([redis.set(a, "1"), redis.set(b, "2")]);

    expect(await redis.ttl(a)).toBe(-1);
    expect(await redis.expire(a, 100)).toBe(1);
    expect(await redis.ttl(a)).toBeGreaterThan(95);
    expect(await redis.del(a, b, c)).toBe(2);
    expect(await redis.ttl(a)).toBe(-2);
    expect(await redis.expire(c, 100)).toBe(0);
  });

  it("writes and reads hashes", async () => {
    const key = freshKey("h");

    expect(await raw.hset(key, { plain: "x", number: "42", unicode: "ü€𝄞", empty: "", b64: "aGVsbG8=" })).toBe(5);

    expect(await redis.hgetall(key)).toEqual({ plain: "x", number: 42, unicode: "ü€𝄞", empty: "", b64: "aGVsbG8=" });
    // Without automatic deserialization the client hands back Redis's flat field/value array as it came.
    expect(await raw.hgetall(key)).toEqual(["plain", "x", "number", "42", "unicode", "ü€𝄞", "empty", "", "b64", "aGVsbG8="]);
    expect(await redis.hgetall(freshKey("none"))).toBeNull();
  });

  it("runs an explicit pipeline, in order", async () => {
    const key = freshKey("p");

    const results = await redis.pipeline().set(key, "ü€𝄞").append(key, "!").get(key).del(key).get(key).exec();

    // APPEND answers the length in bytes: 2 + 3 + 4 + 1.
    expect(results).toEqual(["OK", 10, "ü€𝄞!", 1, null]);
  });

  it("runs multi-exec as one transaction", async () => {
    const key = freshKey("m");

    const results = await redis.multi().incr(key).incrby(key, 41).set(`${key}:s`, "aGVsbG8=").get(`${key}:s`).exec();

    expect(results).toEqual([1, 42, "OK", "aGVsbG8="]);
  });

  it("gives the failing command of a pipeline its error and the others their results", async () => {
    const key = freshKey("e");

    const results = await raw.pipeline().set(key, "not a number").incr(key).get(key).exec({ keepErrors: true });

    expect(results).toEqual([
      { result: "OK", error: undefined },
      { result: undefined, error: "ERR value is not an integer or out of range" },
      { result: "not a number", error: undefined },
    ]);
  });

  it("rejects only the failing command under automatic pipelining", async () => {
    const key = freshKey("e");
    await redis.set(key, "text");

    const [good, bad] = await Promise.allSettled([redis.get(key), redis.incr(key)]);

    expect(good).toEqual({ status: "fulfilled", value: "text" });
    expect(bad).toMatchObject({ status: "rejected", reason: { message: expect.stringContaining("ERR value is not an integer") as unknown } });
  });

  it("rejects a command that Redis refuses, without automatic pipelining", async () => {
    const single = new UpstashRedis({ url, token, responseEncoding: encoding, retry: { retries: 0 } });
    const key = freshKey("e");
    await single.set(key, "text");

    await expect(single.incr(key)).rejects.toThrow("ERR value is not an integer or out of range");
  });

  it("refuses a client with the wrong token", async () => {
    const intruder = new UpstashRedis({ url, token: "wrong", responseEncoding: encoding, retry: { retries: 0 } });

    await expect(intruder.get("anything")).rejects.toThrow(/Unauthorized/);
  });
});

describe("the bridge's wire format", () => {
  it("answers 401 to a missing or wrong bearer token", async () => {
    for (const authorization of ["", "Bearer", "Bearer wrong", `Bearer ${token}x`, `Basic ${token}`, token]) {
      const res = await fetch(url, { method: "POST", headers: { authorization }, body: '["PING"]' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: expect.any(String) as unknown });
    }
  });

  it("answers 400 with Redis's message when a single command fails", async () => {
    const key = freshKey("e");
    await direct.set(key, "text");

    expect(await post("/", ["INCR", key])).toEqual({
      status: 400,
      body: { error: "ERR value is not an integer or out of range" },
    });
    expect(await post("/", ["NOSUCHCOMMAND"])).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^ERR unknown command/) as unknown } });
  });

  it("base64-encodes every string at every depth, leaving numbers and null alone", async () => {
    const script = "return {1, 'a', {'b', 2, {'ü'}}, redis.call('GET', KEYS[1])}";
    const key = freshKey("missing");

    expect(await post("/", ["EVAL", script, 1, key], { "upstash-encoding": "base64" })).toEqual({
      status: 200,
      body: { result: [1, "YQ==", ["Yg==", 2, ["w7w="]], null] },
    });
    expect(await post("/", ["EVAL", script, 1, key])).toEqual({
      status: 200,
      body: { result: [1, "a", ["b", 2, ["ü"]], null] },
    });
  });

  it("encodes the exact bytes of a value that is not UTF-8", async () => {
    const key = freshKey("bin");
    await direct.set(key, Buffer.from([0xff, 0x00, 0xfe, 0x80]));

    expect(await post("/", ["GET", key], { "Upstash-Encoding": "base64" })).toEqual({ status: 200, body: { result: "/wD+gA==" } });
  });

  it("never encodes errors", async () => {
    const key = freshKey("e");
    await direct.set(key, "text");

    expect(await post("/pipeline", [["GET", key], ["INCR", key]], { "upstash-encoding": "base64" })).toEqual({
      status: 200,
      body: [{ result: "dGV4dA==" }, { error: "ERR value is not an integer or out of range" }],
    });
    expect(await post("/", ["INCR", key], { "upstash-encoding": "base64" })).toEqual({
      status: 400,
      body: { error: "ERR value is not an integer or out of range" },
    });
  });

  it("runs multi-exec atomically, with a runtime error on its own command only", async () => {
    const key = freshKey("m");

    expect(await post("/multi-exec", [["SET", key, "text"], ["INCR", key], ["APPEND", key, "!"]])).toEqual({
      status: 200,
      body: [{ result: "OK" }, { error: "ERR value is not an integer or out of range" }, { result: 5 }],
    });
  });

  it("answers 400 and runs nothing when a multi-exec command is refused while queueing", async () => {
    const key = freshKey("m");

    const res = await post("/multi-exec", [["SET", key, "1"], ["NOSUCHCOMMAND"]]);

    expect(res).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^EXECABORT/) as unknown } });
    expect(await direct.exists(key)).toBe(0);
  });

  it("takes numbers and booleans as arguments, as the client sends them", async () => {
    const key = freshKey("n");

    expect(await post("/", ["SET", key, 1.5, "EX", 100])).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post("/", ["INCRBYFLOAT", key, 1])).toEqual({ status: 200, body: { result: "2.5" } });
    expect(await post("/", ["SET", `${key}:b`, true])).toEqual({ status: 200, body: { result: "OK" } });
    expect(await direct.get(`${key}:b`)).toBe("true");
  });

  it.each([
    ["/", "not json"],
    ["/", "{}"],
    ["/", "[]"],
    ["/", '"GET"'],
    ["/", '["GET", {"a": 1}]'],
    ["/", '["GET", null]'],
    ["/", '[["GET", "k"]]'],
    ["/", ""],
    ["/pipeline", '["GET", "k"]'],
    ["/pipeline", "[]"],
    ["/pipeline", '[["GET", "k"], "GET"]'],
    ["/pipeline", '[["GET", "k"], []]'],
    ["/multi-exec", '{"commands": []}'],
    ["/multi-exec", "[[1, 2]]"],
  ])("answers 400 to a malformed body on %s: %s", async (path, body) => {
    const res = await post(path, body);

    expect(res).toEqual({ status: 400, body: { error: expect.stringMatching(/^ERR /) as unknown } });
  });

  it("refuses commands that would take over the shared connection", async () => {
    for (const command of [["SUBSCRIBE", "c"], ["SELECT", 1], ["BLPOP", "k", 0], ["MULTI"], ["QUIT"]]) {
      expect(await post("/", command)).toMatchObject({ status: 400, body: { error: expect.stringContaining("not supported") as unknown } });
    }
    expect(await post("/", ["PING"])).toEqual({ status: 200, body: { result: "PONG" } });
  });
});

describe("the bridge when Redis is down", () => {
  it("answers 503 at the first refused connection, without retrying it or waiting for its timeout", async () => {
    const port = await freePort();
    // A timeout past the test's own: an answer that comes at all did not wait for it.
    const bridge = createUpstashBridge({ redis: `redis://127.0.0.1:${port}`, token: "t", timeoutMs: 120_000 });
    try {
      const res = await bridge.app.request("/", {
        method: "POST",
        headers: { authorization: "Bearer t" },
        body: '["GET", "k"]',
      });

      expect(res.status).toBe(503);
      // ioredis's word that it gave the command up at the first failed attempt (maxRetriesPerRequest 0).
      expect(await res.json()).toEqual({
        error: expect.stringMatching(/^ERR Redis is unavailable: Reached the max retries per request limit \(which is 0\)/) as unknown,
      });
    } finally {
      await bridge.close();
    }
  });
});

describe("startUpstashBridge", () => {
  it("rejects when its port is taken", async () => {
    const taken = Number(new URL(url).port);

    await expect(startUpstashBridge({ redisUrl, token: "t", port: taken })).rejects.toThrow(/EADDRINUSE/);
  });
});
