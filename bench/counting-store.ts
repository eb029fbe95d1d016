import type { ObjectStore } from "../src/storage/types.js";

type Operation = "get" | "getStream" | "put" | "head" | "list" | "deleteMany";
const OPERATIONS: Operation[] = ["get", "getStream", "put", "head", "list", "deleteMany"];

/** `store` with every call counted by operation; `counts` is live, `reset()` zeroes it. */
export function countingStore(store: ObjectStore) {
  const counts: Record<string, number> = {};
  const counted = Object.create(store) as ObjectStore;
  for (const operation of OPERATIONS) {
    const original = store[operation].bind(store) as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(counted, operation, {
      value: (...args: unknown[]) => {
        counts[operation] = (counts[operation] ?? 0) + 1;
        return original(...args);
      },
    });
  }
  return {
    store: counted,
    counts,
    reset() {
      for (const operation of Object.keys(counts)) delete counts[operation];
    },
  };
}
