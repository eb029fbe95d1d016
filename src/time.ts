/**
 * Time's one home: days and months in UTC epoch milliseconds, the dates of the API (`YYYY-MM-DD`), the timestamps of
 * a stored CSV, and `cached_at` as the original service writes it.
 */

/** A day in milliseconds: UTC days have no leap seconds in epoch time. */
export const DAY_MS = 86_400_000;

/** The first instant (epoch ms) of a `YYYY-MM-DD` day, UTC. */
export const dayStartMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/** The `YYYY-MM-DD` day (UTC) holding `ms`. */
export const dateOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The first instant of the UTC calendar month `months` after the one holding `ms`. */
export function monthStart(ms: number, months = 0): number {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1);
}

/** The first instant of the UTC day holding `ms`. */
export const dayStartOf = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const EPOCH_MS = /^\d{1,15}$/;

/**
 * A candle's timestamp as epoch milliseconds, or null when it is not one. Accepts what the original wrote
 * (`2021-10-22 23:03:00`, read as UTC), ISO-8601 with or without a zone, and Binance's epoch milliseconds.
 */
export function parseTimestamp(text: string): number | null {
  if (EPOCH_MS.test(text)) return Number(text);
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = "00", mi = "00", s = "00", fraction = "0", zone = "Z"] = m;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${fraction.padEnd(3, "0").slice(0, 3)}${zone}`);
  return Number.isNaN(ms) ? null : ms;
}

/** The form the original service writes in its CSVs: `2021-10-22 23:03:00` (UTC, milliseconds only when set). */
export function formatTimestamp(ms: number): string {
  // Candles come a day at a time: the date is formatted once per day, the time of day by arithmetic.
  const day = Math.floor(ms / DAY_MS);
  if (day !== lastDay.day) lastDay = { day, text: new Date(day * DAY_MS).toISOString().slice(0, 10) };
  const inDay = ms - day * DAY_MS;
  const time = `${pad(Math.floor(inDay / 3_600_000), 2)}:${pad(Math.floor(inDay / 60_000) % 60, 2)}:${pad(Math.floor(inDay / 1000) % 60, 2)}`;
  return inDay % 1000 === 0 ? `${lastDay.text} ${time}` : `${lastDay.text} ${time}.${pad(inDay % 1000, 3)}`;
}

let lastDay = { day: NaN, text: "" };
const pad = (value: number, digits: number) => String(value).padStart(digits, "0");

const ORIGINAL_FORM_BYTES = 19; // 2021-10-22 23:03:00
const DAY_BYTES = 10;

/**
 * The original's timestamps (`2021-10-22 23:03:00`) come a day's worth at a time, and every time of day of a
 * valid day is valid: once one of a day has been parsed, the others of that day need no date parsing. Works on
 * the CSV's bytes, for the scanners that must not build a string per cell.
 */
export class OriginalFormDay {
  private readonly day = new Uint8Array(DAY_BYTES);
  private known = false;

  /** True when bytes[from, to) is a timestamp in the original's form on the remembered day. */
  matches(bytes: Uint8Array, from: number, to: number): boolean {
    if (!this.known || !isOriginalForm(bytes, from, to)) return false;
    for (let i = 0; i < DAY_BYTES; i++) if (bytes[from + i] !== this.day[i]) return false;
    return true;
  }

  /** Remembers the day of bytes[from, to) when it is in the original's form; call it only for a valid one. */
  remember(bytes: Uint8Array, from: number, to: number): void {
    if (!isOriginalForm(bytes, from, to)) return;
    this.day.set(bytes.subarray(from, from + DAY_BYTES));
    this.known = true;
  }
}

/** `YYYY-MM-DD HH:MM:SS` as far as the time goes: 19 bytes, a space, then a time of day (the day is not checked). */
function isOriginalForm(bytes: Uint8Array, from: number, to: number): boolean {
  const at = from + DAY_BYTES;
  if (to - from !== ORIGINAL_FORM_BYTES || bytes[at] !== 0x20 || bytes[at + 3] !== 0x3a || bytes[at + 6] !== 0x3a) {
    return false;
  }
  const hours = twoDigits(bytes, at + 1);
  const minutes = twoDigits(bytes, at + 4);
  const seconds = twoDigits(bytes, at + 7);
  return hours >= 0 && hours <= 23 && minutes >= 0 && minutes <= 59 && seconds >= 0 && seconds <= 59;
}

function twoDigits(bytes: Uint8Array, at: number): number {
  const tens = (bytes[at] as number) - 0x30;
  const ones = (bytes[at + 1] as number) - 0x30;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/**
 * cached_at as the Python service writes it: ISO-8601 UTC with no zone suffix and millisecond precision,
 * e.g. 2026-11-23T19:51:34.750. Its reader subtracts a naive datetime, so a `Z` would break it.
 */
export function formatCachedAt(at: Date): string {
  return at.toISOString().slice(0, 23);
}

const CACHED_AT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Reads both forms: zone-less (taken as UTC, any number of fraction digits) and with Z or an offset. */
export function parseCachedAt(text: string): Date | null {
  const match = CACHED_AT.exec(text);
  if (!match) return null;
  const [, date, time, fraction = "0", zone = "Z"] = match;
  const millis = fraction.padEnd(3, "0").slice(0, 3);
  const parsed = new Date(`${date}T${time}.${millis}${zone}`);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}
