import { createHash } from "node:crypto";
import { createCsvInspector, type CsvShape } from "../../csv/check.js";
import type { CacheMeta } from "./meta.js";

/** A CSV checked and digested in the same pass, chunk by chunk: its shape (see createCsvInspector) and sha256. */
export function createCsvDigest(): { push(chunk: Uint8Array): void; end(): CsvShape & { sha256: string; sizeBytes: number } } {
  const inspector = createCsvInspector();
  const hash = createHash("sha256");
  let sizeBytes = 0;
  return {
    push(chunk) {
      inspector.push(chunk);
      hash.update(chunk);
      sizeBytes += chunk.length;
    },
    end: () => ({ ...inspector.end(), sha256: hash.digest("hex"), sizeBytes }),
  };
}

/** True when the store says the CSV is the very object the meta was written with: nothing to read to prove it. */
export const versionMatches = (meta: CacheMeta, version: string): boolean =>
  meta.csv_version !== undefined && version !== "" && meta.csv_version === version;

/**
 * One pass over a CSV that proves it is the one its meta describes, for a CSV whose version is not the meta's (an
 * object rewritten behind its meta's back, a folder copied elsewhere, or an entry the original service wrote): its
 * sha256 when the meta records one, else its row count against `rows`. A CSV that is not one at all proves nothing.
 */
export function createCsvProof(meta: CacheMeta): { push(chunk: Uint8Array): void; holds(): boolean } {
  if (meta.csv_sha256 !== undefined) {
    const hash = createHash("sha256");
    return { push: (chunk) => void hash.update(chunk), holds: () => hash.digest("hex") === meta.csv_sha256 };
  }
  const inspector = createCsvInspector();
  let broken = false;
  return {
    push(chunk) {
      if (broken) return;
      try {
        inspector.push(chunk);
      } catch {
        broken = true;
      }
    },
    holds() {
      if (broken) return false;
      try {
        return inspector.end().rows === meta.rows;
      } catch {
        return false;
      }
    },
  };
}
