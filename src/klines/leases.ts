import { entryName } from "../cache/entries/objects.js";
import { partitionLeaseKey } from "../counters/keys.js";
import type { Leases } from "../counters/types.js";
import type { Log } from "../log.js";
import { entryOfPartition } from "./served.js";
import type { Partition } from "./types.js";

export type PartitionLeases = EntryLeases<Partition>;
export type EntryLeases<T> = ReturnType<typeof createEntryLeases<T>>;

/** The lease of a partition's key: what `PartitionLeases` hands round. */
export const partitionEntryName = (partition: Partition): string => entryName(entryOfPartition(partition));

/** One fetch of a partition at a time across containers (see createEntryLeases). */
export const createPartitionLeases = (options: { leases: Leases; log: Pick<Log, "warn">; ttlMs?: number }) =>
  createEntryLeases<Partition>({ ...options, nameOf: partitionEntryName, describe: (partition) => partition.id, events: "klines" });

/**
 * One fetch of a read-through entry at a time across containers: a lease per entry (Upstash, or this process's
 * memory), named by the entry (`nameOf`). A lease that cannot be had (Redis down) does not stop a fetch: it runs
 * uncoordinated, token null. `describe` and `events` name the entry and the series in the log lines.
 */
export function createEntryLeases<T>(options: {
  leases: Leases;
  log: Pick<Log, "warn">;
  ttlMs?: number;
  nameOf: (unit: T) => string;
  describe: (unit: T) => unknown;
  events: string;
}) {
  const { leases, log, nameOf, describe, events } = options;
  const ttlMs = options.ttlMs ?? 15_000;
  const keyOf = (unit: T) => partitionLeaseKey(nameOf(unit));

  return {
    ttlMs,

    /** The entry's lease: its token (null when leases cannot be had: fetch, uncoordinated), or "theirs". */
    async take(unit: T): Promise<{ token: string | null } | "theirs"> {
      try {
        const token = await leases.acquire(keyOf(unit), ttlMs);
        return token === null ? "theirs" : { token };
      } catch (error) {
        log.warn(`${events}_lease_unavailable`, { partition: describe(unit), error });
        return { token: null };
      }
    },

    async release(unit: T, token: string | null): Promise<void> {
      if (token === null) return;
      await leases.release(keyOf(unit), token).catch((error: unknown) => {
        log.warn(`${events}_lease_release_failed`, { partition: describe(unit), error });
      });
    },

    /** Whether `token` still holds the lease (renewed); a lease that cannot be asked about is taken as still held. */
    stillHeld: async (unit: T, token: string | null): Promise<boolean> =>
      token === null || (await leases.renew(keyOf(unit), token, ttlMs).catch(() => true)),

    /** Takes over a lease another process took and handed on: true when `token` still holds it (renewed). */
    adopt: (unit: T, token: string): Promise<boolean> => leases.renew(keyOf(unit), token, ttlMs).catch(() => false),

    /** Renews every lease still held, a third of their life apart; a lease lost (expired and taken) is logged. */
    renewWhileHeld(held: Map<T, string | null>): NodeJS.Timeout {
      const timer = setInterval(() => {
        for (const [unit, token] of held) {
          if (token === null) continue;
          leases.renew(keyOf(unit), token, ttlMs).then(
            (kept) => kept || log.warn(`${events}_lease_lost`, { partition: describe(unit) }),
            (error: unknown) => log.warn(`${events}_lease_renew_failed`, { partition: describe(unit), error }),
          );
        }
      }, ttlMs / 3);
      timer.unref();
      return timer;
    },
  };
}
