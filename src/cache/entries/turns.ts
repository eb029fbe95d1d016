import { setTimeout as delay } from "node:timers/promises";
import { entryLeaseKey } from "../../counters/keys.js";
import type { Leases } from "../../counters/types.js";
import type { Clock } from "../../clock.js";
import { EntryBusyError } from "../../errors.js";
import type { Log } from "../../log.js";

/** What a writer holds while it writes one entry; asked right before each commit step. */
export interface Turn {
  /** True while the turn is still this writer's (across containers: its lease renewed just now). */
  held(): Promise<boolean>;
}

export interface EntryTurnsOptions {
  /** Says when to ask again, in a writer's EntryBusyError. */
  clock: Clock;
  /** Across containers (Upstash), or in this process (memory); none: this process only. */
  leases?: Leases;
  log?: Pick<Log, "warn">;
  /** Life of a turn's lease without renewal; renewed a third of that apart while the writer works. */
  ttlMs?: number;
  /** How long a writer waits for its turn before it gives up (EntryBusyError). */
  waitMs?: number;
}

const DEFAULT_TTL_MS = 30_000;
const DEFAULT_WAIT_MS = 10_000;
const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 250;
/** What a writer that did not get its turn is told to wait before asking again. */
const RETRY_AFTER_MS = 1_000;

/**
 * One writer per entry at a time: the writers of this process queue for the entry in order, and across containers
 * each then takes the entry's lease (`lease:entry:<entry>`), renewed while it writes. A writer that cannot have its
 * turn within `waitMs` gives up (EntryBusyError) before writing anything. When leases fail (Redis down), writes go
 * on in this process's order only, logged: the conditional puts under them keep concurrent writers from tearing an
 * entry (see entries in data-cache.ts).
 */
export function createEntryTurns(options: EntryTurnsOptions) {
  const { leases, log, clock } = options;
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  /** The last writer queued for each entry in this process: a promise that settles when its turn ends. */
  const queues = new Map<string, Promise<void>>();

  /** Queues for the entry in this process; the function that ends this writer's place in the queue. */
  async function queue(entry: string, signal: AbortSignal): Promise<() => void> {
    const before = queues.get(entry) ?? Promise.resolve();
    let leave!: () => void;
    const mine = before.then(() => new Promise<void>((resolve) => (leave = resolve)));
    queues.set(entry, mine);
    const done = () => {
      leave?.();
      if (queues.get(entry) === mine) queues.delete(entry);
    };
    try {
      await raceAbort(before, signal);
      return done;
    } catch (error) {
      // Given up waiting: those behind still wait for the ones before, not for this one.
      void before.then(done);
      throw error;
    }
  }

  const busy = (why: string) => new EntryBusyError(why, new Date(clock.now().getTime() + RETRY_AFTER_MS));

  /** The entry's lease: its token; null when leases are not to be had (uncoordinated); EntryBusyError in time. */
  async function lease(entry: string, signal: AbortSignal): Promise<string | null> {
    if (!leases) return null;
    const key = entryLeaseKey(entry);
    for (let pollMs = FIRST_POLL_MS; ; pollMs = Math.min(MAX_POLL_MS, pollMs * 2)) {
      try {
        const token = await leases.acquire(key, ttlMs);
        if (token !== null) return token;
      } catch (error) {
        log?.warn("entry_lease_unavailable", { entry, error });
        return null;
      }
      await delay(pollMs, undefined, { signal }).catch(() => {
        throw busy("Another writer (another container) is writing this entry");
      });
    }
  }

  return {
    /**
     * Runs `write` in the entry's turn; EntryBusyError when the turn cannot be had within the wait (nothing ran).
     * `signal` (the caller's deadline) ends the wait early.
     */
    async run<T>(entry: string, write: (turn: Turn) => Promise<T>, call: { signal?: AbortSignal } = {}): Promise<T> {
      const timeout = AbortSignal.timeout(waitMs);
      const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
      const leave = await queue(entry, signal).catch(() => {
        throw busy("Other writes of this entry are under way");
      });
      try {
        const token = await lease(entry, signal);
        const key = entryLeaseKey(entry);
        let lost = false;
        const renew = async (): Promise<boolean> => {
          if (token === null || !leases) return true;
          try {
            lost ||= !(await leases.renew(key, token, ttlMs));
          } catch (error) {
            log?.warn("entry_lease_renew_failed", { entry, error });
          }
          return !lost;
        };
        const timer = setInterval(() => void renew(), ttlMs / 3);
        timer.unref();
        try {
          return await write({ held: renew });
        } finally {
          clearInterval(timer);
          if (token !== null && leases) await leases.release(key, token).catch(() => undefined);
        }
      } finally {
        leave();
      }
    },
  };
}

export type EntryTurns = ReturnType<typeof createEntryTurns>;

/** `promise`, or a rejection as soon as `signal` fires. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = () => new Error("The wait for the entry's turn ended");
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
