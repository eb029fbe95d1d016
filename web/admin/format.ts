/**
 * Pure: how the admin page writes instants, ages, names and entries. The rules of what a value means (cached_at's
 * forms, what expires when) are the server's, imported; only their wording for people lives here.
 */
import type { CacheEntryInfo } from "../../src/cache/data-cache.js";
import { parseCachedAt } from "../../src/time.js";

/** An instant as `2026-11-25 12:00:00 UTC`; null when it is not one. */
export function utcText(ms: number): string | null {
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC` : null;
}

/** An ISO-8601 instant as utcText writes it, or the text as it came when it is unreadable. */
export const isoText = (text: string): string => utcText(Date.parse(text)) ?? text;

/** cached_at as the service reads it (zone-less means UTC), written as utcText; the text itself when unreadable. */
export function cachedAtText(text: string): string {
  const at = parseCachedAt(text);
  return at === null ? text : (utcText(at.getTime()) as string);
}

/** A duration in seconds, rounded down to its two largest units: `42 s`, `5 min`, `3 h 2 min`, `2 d 4 h`. */
export function ageText(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

/** The names in the order of `known`, then any others alphabetically. */
export function knownFirst(names: readonly string[], known: readonly string[]): string[] {
  const rank = (name: string) => (known.includes(name) ? known.indexOf(name) : known.length);
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

type Described = Pick<CacheEntryInfo, "symbol" | "interval" | "start_date" | "end_date" | "market_type">;

/** `BTCUSDT 1m 2021-10-22 to 2021-10-23 (spot)`: an entry in words, as buttons and notices name it. */
export const describe = (entry: Described): string =>
  `${entry.symbol} ${entry.interval} ${entry.start_date} to ${entry.end_date} (${entry.market_type})`;

/** When the service stops serving the entry, in words: its instant, `permanent`, or `until replaced`. */
export function expiresText(entry: Pick<CacheEntryInfo, "expires_at" | "retention" | "state">): string {
  const never = entry.retention === "until_replaced" ? "until replaced (read-through)" : "permanent";
  const text = entry.expires_at === null ? never : isoText(entry.expires_at);
  // The service judges validity by its own clock; the browser's may be wrong.
  return entry.state === "expired" ? `${text} (expired)` : text;
}

/** `1 entry`, `3 entries`: a count and its noun. */
export const counted = (count: number, one: string, many: string): string =>
  `${count.toLocaleString("en-US")} ${count === 1 ? one : many}`;
