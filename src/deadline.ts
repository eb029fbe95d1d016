import type { Clock } from "./clock.js";

/**
 * When a request's time is up. Planned waits (Retry-After, weight pauses, backoff) are judged by the service's clock
 * against `atMs`, so none is started that would run past it; calls in flight are ended by `signal`, which fires in
 * real time. Lambda's own timeout must never be what ends a request.
 */
export interface Deadline {
  /** Epoch ms, by the service's clock. */
  atMs: number;
  signal: AbortSignal;
}

/** A deadline `budgetMs` from now. */
export function deadlineIn(clock: Clock, budgetMs: number): Deadline {
  const ms = Math.max(0, Math.floor(budgetMs));
  return { atMs: clock.now().getTime() + ms, signal: AbortSignal.timeout(ms) };
}

/** Milliseconds left, by the service's clock; 0 once it is past (or its signal fired). */
export function remainingMs(deadline: Deadline, clock: Clock): number {
  if (deadline.signal.aborted) return 0;
  return Math.max(0, deadline.atMs - clock.now().getTime());
}
