import { statSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidKeyError } from "../../src/errors.js";
import { createFsStore } from "../../src/storage/fs.js";
import { INVALID_KEYS, testObjectStore } from "./contract.js";

let root: string;
let nextDir = 0;
/** A folder no test has used yet, under this file's temp root. */
const freshDir = (): string => join(root, `store-${nextDir++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "fs-store-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The kernel's clock, which stamps file modification times: the mtime of a file written just now. */
function fileSystemNow(): number {
  const probe = join(root, "clock-probe");
  writeFileSync(probe, "");
  return statSync(probe).mtimeMs;
}

testObjectStore("fs", () => createFsStore({ baseDir: freshDir() }), { storeNow: fileSystemNow });

describe("fs store", () => {
  it("creates its base folder if missing", async () => {
    const baseDir = join(freshDir(), "deep", "er");

    const store = createFsStore({ baseDir });
    await store.put("x.csv", "x");

    expect(await readdir(baseDir)).toContain("x.csv");
  });

  it("keeps its temporary files out of list", async () => {
    const store = createFsStore({ baseDir: freshDir() });

    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`k${i % 3}.csv`, "x".repeat(i))));

    expect((await store.list()).map((o) => o.key)).toEqual(["k0.csv", "k1.csv", "k2.csv"]);
  });

  it("never writes outside its base folder", async () => {
    const parent = freshDir();
    const store = createFsStore({ baseDir: join(parent, "base") });

    for (const key of INVALID_KEYS) {
      await expect(store.put(key, "x")).rejects.toBeInstanceOf(InvalidKeyError);
    }
    await expect(store.put("../escaped.csv", "x")).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.put(join(parent, "escaped.csv"), "x")).rejects.toBeInstanceOf(InvalidKeyError);

    expect(await readdir(parent)).toEqual(["base"]);
    expect(await store.list()).toEqual([]);
  });
});
