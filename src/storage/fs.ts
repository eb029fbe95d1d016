import { mkdirSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { dirname, join, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { InvalidKeyError, StorageUnavailableError } from "../errors.js";
import { mapLimit } from "../util/map-limit.js";
import { assertValidKey, assertValidPrefix } from "./keys.js";
import type { ListedObject, ObjectMeta, ObjectStore, ObjectStream } from "./types.js";

export interface FsStoreOptions {
  /** Folder that holds the objects; created if missing. */
  baseDir: string;
}

/** Temporary files live here during a write; `list` never shows them (keys cannot start with '.'). */
const TMP_DIR = ".tmp";
const FS_CONCURRENCY = 64;

export function createFsStore(options: FsStoreOptions): ObjectStore {
  const base = resolve(options.baseDir);
  const tmpDir = join(base, TMP_DIR);
  mkdirSync(tmpDir, { recursive: true });

  function pathOf(key: string): string {
    assertValidKey(key);
    const path = resolve(base, key);
    if (!path.startsWith(base + sep)) throw new InvalidKeyError(key, "escapes the base folder");
    return path;
  }

  return {
    driver: "fs",

    async get(key) {
      const path = pathOf(key);
      return orNull(key, async () => new Uint8Array(await readFile(path)));
    },

    async getStream(key): Promise<ObjectStream | null> {
      const path = pathOf(key);
      const handle = await orNull(key, () => open(path, "r"));
      if (!handle) return null;
      try {
        const info = await handle.stat();
        if (!info.isFile()) {
          await handle.close();
          return null;
        }
        const stream = Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>;
        return { stream, sizeBytes: info.size, modifiedAt: info.mtime };
      } catch (error) {
        await handle.close();
        throw unavailable(key, error);
      }
    },

    async put(key, body) {
      const path = pathOf(key);
      const tmp = join(tmpDir, randomUUID());
      try {
        await writeFile(tmp, body);
        await mkdir(dirname(path), { recursive: true });
        await rename(tmp, path);
      } catch (error) {
        await rm(tmp, { force: true });
        throw unavailable(key, error);
      }
    },

    async head(key): Promise<ObjectMeta | null> {
      const path = pathOf(key);
      const info = await orNull(key, () => stat(path));
      if (!info?.isFile()) return null;
      return { sizeBytes: info.size, modifiedAt: info.mtime };
    },

    async list(prefix = ""): Promise<ListedObject[]> {
      assertValidPrefix(prefix);
      const slash = prefix.lastIndexOf("/");
      const startDir = slash === -1 ? base : join(base, prefix.slice(0, slash));
      const files = await walk(startDir);
      const keys = files
        .map((path) => relative(base, path).split(sep).join("/"))
        .filter((key) => key.startsWith(prefix))
        .sort();
      const listed = await mapLimit(keys, FS_CONCURRENCY, async (key) => {
        const info = await orNull(key, () => stat(join(base, key)));
        return info ? { key, sizeBytes: info.size, modifiedAt: info.mtime } : null;
      });
      return listed.filter((item): item is ListedObject => item !== null);
    },

    async removeStaleTemporaries(olderThan) {
      const names = (await orNull(TMP_DIR, () => readdir(tmpDir))) ?? [];
      const removed = await mapLimit(names, FS_CONCURRENCY, async (name) => {
        const path = join(tmpDir, name);
        const info = await orNull(name, () => stat(path));
        if (!info || info.mtime >= olderThan) return false;
        await rm(path, { force: true });
        return true;
      });
      return removed.filter(Boolean).length;
    },

    async deleteMany(keys) {
      const paths = keys.map(pathOf);
      await mapLimit(paths, FS_CONCURRENCY, (path, i) => orNull(keys[i] as string, () => unlink(path)));
    },
  };
}

/** Every regular file under `dir`, skipping dot-entries (temporary files). A missing dir is empty. */
async function walk(dir: string): Promise<string[]> {
  const entries = await orNull(dir, () => readdir(dir, { withFileTypes: true }));
  if (!entries) return [];
  const nested = await Promise.all(
    entries
      .filter((entry) => !entry.name.startsWith("."))
      .map(async (entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) return walk(path);
        return entry.isFile() ? [path] : [];
      }),
  );
  return nested.flat();
}

/** Runs `op`; a missing file (or a folder where a file was expected) is null, anything else is a storage failure. */
async function orNull<T>(key: string, op: () => Promise<T>): Promise<T | null> {
  try {
    return await op();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return null;
    throw unavailable(key, error);
  }
}

function unavailable(key: string, error: unknown): StorageUnavailableError {
  return new StorageUnavailableError(`Local storage failed on ${key}: ${(error as Error).message}`, error);
}
