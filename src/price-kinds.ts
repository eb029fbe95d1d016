/**
 * The kinds of candle series the read-through keeps: trade candles (Binance's klines) and, for USD-M futures, the
 * mark, index and premium-index price candles, which have the same 12 fields (volumes zero). One table: where each
 * comes from (REST path and its symbol parameter, the archive's folder) and where its month partitions are kept.
 * Adding a kind is a row here.
 */
import * as z from "zod/mini";
import type { MarketType } from "./market.js";

export const PRICE_KINDS = ["trade", "mark", "index", "premium"] as const;
export type PriceKind = (typeof PRICE_KINDS)[number];

export interface PriceKindSpec {
  /** REST path by market; null where the market has no such series. */
  restPath: Record<MarketType, string | null>;
  /** The query parameter that names the series: index candles are of a pair (BTCUSDT), the rest of a symbol. */
  symbolParam: "symbol" | "pair";
  /** The archive's folder of its files (`data/futures/um/monthly/<folder>/<SYMBOL>/<interval>/…`). */
  archiveFolder: string;
  /** The cache folder of its month partitions; trade candles keep the folder they always had. */
  partitionsFolder: string;
}

export const PRICE_KIND_SPECS: Record<PriceKind, PriceKindSpec> = {
  trade: {
    restPath: { spot: "/api/v3/klines", futures: "/fapi/v1/klines" },
    symbolParam: "symbol",
    archiveFolder: "klines",
    partitionsFolder: "partitions",
  },
  mark: {
    restPath: { spot: null, futures: "/fapi/v1/markPriceKlines" },
    symbolParam: "symbol",
    archiveFolder: "markPriceKlines",
    partitionsFolder: "partitions-mark",
  },
  index: {
    restPath: { spot: null, futures: "/fapi/v1/indexPriceKlines" },
    symbolParam: "pair",
    archiveFolder: "indexPriceKlines",
    partitionsFolder: "partitions-index",
  },
  premium: {
    restPath: { spot: null, futures: "/fapi/v1/premiumIndexKlines" },
    symbolParam: "symbol",
    archiveFolder: "premiumIndexKlines",
    partitionsFolder: "partitions-premium",
  },
};

export const priceKindSchema = z.enum(PRICE_KINDS, { error: `must be one of ${PRICE_KINDS.join(" ")}` });

/** The kind of a series, trade candles when none is said. */
export const kindOf = (series: { price?: PriceKind }): PriceKind => series.price ?? "trade";

/** The REST path of a kind in a market; null where the market has none (every kind but trade on spot). */
export const restPathOf = (kind: PriceKind, market: MarketType): string | null => PRICE_KIND_SPECS[kind].restPath[market];

/** One series of candles: a dataset id and its kind (absent: trade candles, ids and keys as they always were). */
export type SeriesId = import("./market.js").DatasetId & { price?: PriceKind };
