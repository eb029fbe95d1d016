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
