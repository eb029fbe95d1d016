import { entryName } from "../cache/entries/objects.js";
import { partitionLeaseKey } from "../counters/keys.js";
import type { Leases } from "../counters/types.js";
import type { Log } from "../log.js";
import { entryOfPartition } from "./served.js";
import type { Partition } from "./types.js";

export type PartitionLeases = ReturnType<typeof createPartitionLeases>;

/** The lease of a partition's key: what `PartitionLeases` hands round. */
export const partitionEntryName = (partition: Partition): string => entryName(entryOfPartition(partition));

/**
 * One fetch of a partition at a time across containers: a lease per partition (Upstash, or this process's memory).
 * A lease that cannot be had (Redis down) does not stop a fetch: it runs uncoordinated, token null.
 */
export function createPartitionLeases(options: { leases: Leases; log: Pick<Log, "warn">; ttlMs?: number }) {
  const { leases, log } = options;
  const ttlMs = options.ttlMs ?? 15_000;
  const keyOf = (partition: Partition) => partitionLeaseKey(partitionEntryName(partition));

  return {
    ttlMs,

    /** The partition's lease: its token (null when leases cannot be had: fetch, uncoordinated), or "theirs". */
    async take(partition: Partition): Promise<{ token: string | null } | "theirs"> {
      try {
        const token = await leases.acquire(keyOf(partition), ttlMs);
        return token === null ? "theirs" : { token };
      } catch (error) {
        log.warn("klines_lease_unavailable", { partition: partition.id, error });
        return { token: null };
      }
    },

    async release(partition: Partition, token: string | null): Promise<void> {
      if (token === null) return;
      await leases.release(keyOf(partition), token).catch((error: unknown) => {
        log.warn("klines_lease_release_failed", { partition: partition.id, error });
      });
    },

    /** Whether `token` still holds the lease (renewed); a lease that cannot be asked about is taken as still held. */
    stillHeld: async (partition: Partition, token: string | null): Promise<boolean> =>
      token === null || (await leases.renew(keyOf(partition), token, ttlMs).catch(() => true)),

    /** Takes over a lease another process took and handed on: true when `token` still holds it (renewed). */
    adopt: (partition: Partition, token: string): Promise<boolean> => leases.renew(keyOf(partition), token, ttlMs).catch(() => false),

    /** Renews every lease still held, a third of their life apart; a lease lost (expired and taken) is logged. */
    renewWhileHeld(held: Map<Partition, string | null>): NodeJS.Timeout {
      const timer = setInterval(() => {
        for (const [partition, token] of held) {
          if (token === null) continue;
          leases.renew(keyOf(partition), token, ttlMs).then(
            (kept) => kept || log.warn("klines_lease_lost", { partition: partition.id }),
            (error: unknown) => log.warn("klines_lease_renew_failed", { partition: partition.id, error }),
          );
        }
      }, ttlMs / 3);
      timer.unref();
      return timer;
    },
  };
}
