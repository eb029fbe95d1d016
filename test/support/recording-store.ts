import { createFsStore } from "../../src/storage/fs.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { tempDir } from "./fixtures.js";

/** An fs store on a fresh folder that records the key of every read, to prove what an answer read. */
export function recordingStore(): { store: ObjectStore; reads: string[] } {
  const inner = createFsStore({ baseDir: tempDir() });
  const reads: string[] = [];
  const store: ObjectStore = {
    ...inner,
    get: async (key, options) => {
      reads.push(key);
      return inner.get(key, options);
    },
    getStream: async (key, options) => {
      reads.push(key);
      return inner.getStream(key, options);
    },
  };
  return { store, reads };
}

/**
 * The store as a read-only role sees it (an IAM role with GetObject and ListBucket alone): every write or delete is
 * refused, and recorded, to prove a reader wrote nothing.
 */
export function readOnlyStore(inner: ObjectStore): { store: ObjectStore; writes: string[] } {
  const writes: string[] = [];
  const refuse = (what: string): never => {
    writes.push(what);
    throw new Error(`AccessDenied: ${what} on a read-only store`);
  };
  const store: ObjectStore = {
    ...inner,
    put: async (key) => refuse(`put ${key}`),
    deleteMany: async (keys) => refuse(`delete ${keys.join(" ")}`),
    deleteIfUnchanged: async (objects) => refuse(`delete ${objects.map((object) => object.key).join(" ")}`),
    copy: async (_from, _version, to) => refuse(`copy to ${to}`),
    removeStaleTemporaries: async () => refuse("remove temporaries"),
  };
  return { store, writes };
}
