import { KLINE_COLUMNS } from "../src/market.js";


const MINUTE_MS = 60_000;

/**
 * A deterministic CSV of `rows` Binance 1m klines as the original service writes them: a header row, then one
 * line per minute from `startMs`, timestamp as `2021-10-22 23:03:00`, prices on a seeded random walk.
 */
export function klinesCsv(rows: number, startMs = Date.UTC(2021, 0, 1)): Buffer {
  const random = mulberry32(20211022);
  const lines: string[] = [KLINE_COLUMNS.join(",")];
  let price = 29_000;
  for (let i = 0; i < rows; i++) {
    const openMs = startMs + i * MINUTE_MS;
    const open = price;
    const close = Math.max(1, open * (1 + (random() - 0.5) * 0.004));
    const high = Math.max(open, close) * (1 + random() * 0.001);
    const low = Math.min(open, close) * (1 - random() * 0.001);
    const volume = 1 + random() * 80;
    const takerShare = random();
    const average = (open + close) / 2;
    lines.push(
      [
        stamp(openMs),
        open.toFixed(2),
        high.toFixed(2),
        low.toFixed(2),
        close.toFixed(2),
        volume.toFixed(5),
        openMs + MINUTE_MS - 1,
        (volume * average).toFixed(8),
        1 + Math.floor(random() * 2000),
        (volume * takerShare).toFixed(8),
        (volume * takerShare * average).toFixed(8),
        0,
      ].join(","),
    );
    price = close;
  }
  return Buffer.from(lines.join("\n") + "\n");
}

/** `2021-10-22 23:03:00`, the original's timestamp form. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** A small seeded PRNG (mulberry32): the same numbers on every machine, in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
