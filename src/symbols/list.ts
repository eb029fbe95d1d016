import * as z from "zod/mini";
import type { MarketType } from "../market.js";
import { UpstreamUnavailableError } from "../errors.js";

/** One tradable symbol as the service lists it; futures symbols also carry their contract type. */
export interface SymbolInfo {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  status: string;
  contractType?: string;
}

export interface SymbolListOptions {
  /** Futures contract types to keep ("all": every one); only PERPETUAL by default. Ignored for spot. */
  contractTypes?: readonly string[] | "all";
}

/** Base assets listed first, in this order; every other symbol follows, ordered by symbol. */
export const SPOT_PRIORITY_ASSETS = ["BTC", "ETH", "BNB", "SOL", "ADA", "AVAX", "DOT", "MATIC", "LINK", "UNI"] as const;
export const FUTURES_PRIORITY_ASSETS = ["BTC", "ETH", "BNB", "SOL", "ADA", "AVAX", "DOT", "MATIC"] as const;

/** The futures contract types the served list holds, the original's. */
export const DEFAULT_CONTRACT_TYPES: readonly string[] = ["PERPETUAL"];

/** Only the fields used; Binance sends many more, which zod drops. */
const spotSymbol = z.object({ symbol: z.string(), status: z.string(), baseAsset: z.string(), quoteAsset: z.string() });
const futuresSymbol = z.extend(spotSymbol, { contractType: z.string() });
const spotSchema = z.object({ symbols: z.array(spotSymbol) });
const futuresSchema = z.object({ symbols: z.array(futuresSymbol) });

/**
 * The symbols served for `market`: status TRADING, quote asset USDT (futures: of the asked contract types), the
 * priority assets first, then the rest by symbol. A body of the wrong shape is an UpstreamUnavailableError.
 */
export function toSymbolList(exchangeInfo: unknown, market: MarketType, options: SymbolListOptions = {}): SymbolInfo[] {
  const parsed = (market === "spot" ? spotSchema : futuresSchema).safeParse(exchangeInfo);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "(root)";
    throw new UpstreamUnavailableError(
      `Binance ${market} exchangeInfo has an unexpected shape at ${where}: ${issue?.message}`,
      parsed.error,
    );
  }
  const contractTypes = options.contractTypes ?? DEFAULT_CONTRACT_TYPES;
  const priority: readonly string[] = market === "spot" ? SPOT_PRIORITY_ASSETS : FUTURES_PRIORITY_ASSETS;
  const rank = (info: SymbolInfo): number => {
    const index = priority.indexOf(info.baseAsset);
    return index === -1 ? priority.length : index;
  };
  const symbols: SymbolInfo[] = parsed.data.symbols;
  return symbols
    .filter((info) => info.status === "TRADING" && info.quoteAsset === "USDT")
    .filter((info) => market === "spot" || contractTypes === "all" || contractTypes.includes(info.contractType ?? ""))
    .sort((a, b) => rank(a) - rank(b) || compareCodeUnits(a.symbol, b.symbol));
}

/** Plain code-unit order, the same on every machine (localeCompare is not). */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
