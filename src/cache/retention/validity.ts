import type { Retention } from "../entries/meta.js";
import { DAY_MS, dayStartMs, dayStartOf, parseCachedAt } from "../../time.js";

/**
 * The validity rule, the original's: an entry whose end_date is at most `recentWindowDays` before today (UTC),
 * or in the future, may still gain candles, so it is valid for `recentTtlSeconds` after it was cached.
 * Any older entry never expires.
 */
export interface ValidityRule {
  recentWindowDays: number;
  recentTtlSeconds: number;
}

/** What the rule reads of an entry: its end date and when it was cached; `until_replaced` entries never expire. */
export interface Dated {
  end_date: string;
  cached_at: string;
  retention?: Retention;
}

/** When the entry stops being served, or null when it never does. */
export function expiresAt(entry: Dated, now: Date, rule: ValidityRule): Date | null {
  if (entry.retention === "until_replaced") return null;
  if (daysFromNow(entry.end_date, now) > rule.recentWindowDays) return null;
  const cachedAt = parseCachedAt(entry.cached_at);
  // An unreadable cached_at cannot be trusted to be recent: it is already expired.
  if (!cachedAt) return new Date(0);
  return new Date(cachedAt.getTime() + rule.recentTtlSeconds * 1000);
}

/** Valid strictly before its expiry: at exactly recentTtlSeconds after cached_at it is expired. */
export function isFresh(entry: Dated, now: Date, rule: ValidityRule): boolean {
  const expiry = expiresAt(entry, now, rule);
  return expiry === null || now.getTime() < expiry.getTime();
}

/** Whole days from end_date to today, both as UTC calendar days; negative for a future end_date. */
export function daysFromNow(endDate: string, now: Date): number {
  return Math.round((dayStartOf(now.getTime()) - dayStartMs(endDate)) / DAY_MS);
}
