import type { Clock } from "../clock.js";
import { ServiceBusyError } from "../errors.js";

export interface ConversionsOptions {
  /** How many conversions (a Parquet form made, an Arrow answer written) run at once in this process. */
  max: number;
  /** How long a conversion waits for a free slot, or for another's conversion of the same form, before giving up. */
  waitMs?: number;
  /** Says when to ask again, in a ServiceBusyError. */
  clock: Clock;
}

const DEFAULT_WAIT_MS = 10_000;
const RETRY_AFTER_MS = 5_000;

/**
 * The bound on conversions of CSV to a columnar form: each holds a few hundred MB while it runs (a year of 1m
 * candles), so at most `max` run at once in a process; the others wait their turn, in order, for up to `waitMs` (or
 * their deadline), then get ServiceBusyError (503 with Retry-After). A slot is held until the converted bytes have
 * all been read, or the reader gives up.
 */
export function createConversions(options: ConversionsOptions) {
  const { max, clock } = options;
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  let running = 0;
  const waiting: (() => void)[] = [];

  const busy = (why: string) => new ServiceBusyError(why, new Date(clock.now().getTime() + RETRY_AFTER_MS));

  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }

  /** A slot, once one is free; ServiceBusyError when `signal` fires first. */
  function acquire(signal: AbortSignal): Promise<() => void> {
    if (running < max) {
      running++;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve, reject) => {
      const take = () => {
        signal.removeEventListener("abort", giveUp);
        resolve(once(release));
      };
      const giveUp = () => {
        const at = waiting.indexOf(take);
        if (at !== -1) waiting.splice(at, 1);
        reject(busy(`${max} conversions are running here; none finished in time`));
      };
      if (signal.aborted) return giveUp();
      waiting.push(take);
      signal.addEventListener("abort", giveUp, { once: true });
    });
  }

  return {
    /** What ends a conversion's waits: `waitMs` from now, or the caller's deadline if that comes first. */
    waitSignal(deadline?: AbortSignal): AbortSignal {
      const timeout = AbortSignal.timeout(waitMs);
      return deadline ? AbortSignal.any([timeout, deadline]) : timeout;
    },

    busy,

    /**
     * The chunks `open` makes, made in a slot: the slot is taken before `open` runs and freed when the chunks end,
     * fail, or their reader stops (`return`, even before the first chunk). ServiceBusyError when no slot frees up
     * before `signal` fires.
     */
    async stream(open: () => Promise<AsyncGenerator<Uint8Array>>, signal: AbortSignal): Promise<AsyncGenerator<Uint8Array>> {
      const free = await acquire(signal);
      let chunks: AsyncGenerator<Uint8Array>;
      try {
        chunks = await open();
      } catch (error) {
        free();
        throw error;
      }
      const freeing = async <T>(step: () => Promise<IteratorResult<Uint8Array, T>>) => {
        try {
          const result = await step();
          if (result.done) free();
          return result;
        } catch (error) {
          free();
          throw error;
        }
      };
      const held: AsyncGenerator<Uint8Array> = {
        next: () => freeing(() => chunks.next()),
        return: (value) => {
          free();
          return chunks.return(value);
        },
        throw: (error) => {
          free();
          return chunks.throw(error);
        },
        [Symbol.asyncIterator]: () => held,
      };
      return held;
    },
  };
}

export type Conversions = ReturnType<typeof createConversions>;

/** `fn`, run the first time only. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
