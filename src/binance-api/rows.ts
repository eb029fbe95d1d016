import type { MarketType } from "../market.js";
import type { DecimalRun } from "../klines/types.js";
import { parseTimestamp } from "../time.js";

/** One kline in Binance's JSON, `[open,"o","h","l","c","v",close,"qv",trades,"tb","tq","0"]`, and its open time. */
export interface BinanceRow {
  openMs: number;
  json: string;
}

/**
 * Binance's places of partitions stored before they were recorded: spot writes every decimal with 8; USD-M
 * futures with each contract's precision, which the stored floats cannot tell (served as stored, `60707.1`).
 */
const UNRECORDED_PLACES: Record<MarketType, number[] | null> = { spot: [8, 8, 8, 8, 8], futures: null };

/** The places that apply from each open time on: the partitions' recorded runs, or their market's when unrecorded. */
export function placesByTime(market: MarketType, parts: { startMs: number; decimals: readonly DecimalRun[] | undefined }[]) {
  const runs: { fromMs: number; places: number[] | null }[] = [];
  for (const part of parts) {
    if (part.decimals && part.decimals.length > 0) runs.push(...part.decimals);
    else runs.push({ fromMs: part.startMs, places: UNRECORDED_PLACES[market] });
  }
  return runs.sort((a, b) => a.fromMs - b.fromMs);
}

/** A stored float (`60707.0`, `0.0163479`) with Binance's places again (`60707.00000000`); as stored if longer. */
export function withPlaces(float: string, places: number | undefined): string {
  if (places === undefined) return float;
  const dot = float.indexOf(".");
  const whole = dot === -1 ? float : float.slice(0, dot);
  const fraction = dot === -1 ? "" : float.slice(dot + 1);
  if (fraction.length > places) return /^0*$/.test(fraction.slice(places)) ? (places === 0 ? whole : `${whole}.${fraction.slice(0, places)}`) : float;
  return places === 0 ? whole : `${whole}.${fraction.padEnd(places, "0")}`;
}

/**
 * The rows of the stored CSV lines (header left out) whose open time lies in [fromMs, toMs], in Binance's JSON: the
 * open and close times as epoch ms, prices and volumes with Binance's places, the other fields as stored (they are
 * Binance's strings already).
 */
export function binanceRowsOf(
  chunks: readonly Uint8Array[],
  runs: readonly { fromMs: number; places: number[] | null }[],
  fromMs: number,
  toMs: number,
): BinanceRow[] {
  const rows: BinanceRow[] = [];
  let run = -1;
  for (const chunk of chunks) {
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
    for (const line of text.split("\n")) {
      const fields = line.split(",");
      if (fields.length !== 12) continue;
      const openMs = parseTimestamp(fields[0] as string);
      if (openMs === null || openMs < fromMs || openMs > toMs) continue;
      while (run + 1 < runs.length && (runs[run + 1] as { fromMs: number }).fromMs <= openMs) run++;
      const places = run >= 0 ? (runs[run] as { places: number[] | null }).places : null;
      const [, o, h, l, c, v, close, quote, trades, takerBase, takerQuote, ignore] = fields as string[] & { length: 12 };
      const priced = [o, h, l, c, v].map((float, at) => `"${withPlaces(float as string, places?.[at])}"`).join(",");
      rows.push({ openMs, json: `[${openMs},${priced},${close},"${quote}",${trades},"${takerBase}","${takerQuote}","${ignore}"]` });
    }
  }
  return rows;
}
