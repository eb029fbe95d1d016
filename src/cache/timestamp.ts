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
  const iso = new Date(ms).toISOString();
  const seconds = iso.slice(0, 19).replace("T", " ");
  return ms % 1000 === 0 ? seconds : `${seconds}.${iso.slice(20, 23)}`;
}
