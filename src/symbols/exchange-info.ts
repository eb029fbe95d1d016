import { gunzipSync, gzipSync } from "node:zlib";
import * as z from "zod/mini";

/** exchangeInfo as Binance answers it: every field kept; only `symbols` (each with its `symbol`) is relied on. */
export type ExchangeInfo = { symbols: ({ symbol: string } & Record<string, unknown>)[] } & Record<string, unknown>;

const exchangeInfoSchema = z.looseObject({ symbols: z.array(z.looseObject({ symbol: z.string() })) });

/** The answer as kept in Redis: its JSON, gzip, base64. */
export const encodeExchangeInfo = (info: ExchangeInfo): string => gzipSync(JSON.stringify(info)).toString("base64");

/** What encodeExchangeInfo kept, or null when it is not that. */
export function decodeExchangeInfo(text: string): ExchangeInfo | null {
  try {
    return exchangeInfoOf(JSON.parse(gunzipSync(Buffer.from(text, "base64")).toString("utf8")));
  } catch {
    return null;
  }
}

/** Binance's answer when it is exchangeInfo's shape; null otherwise. */
export function exchangeInfoOf(body: unknown): ExchangeInfo | null {
  const parsed = exchangeInfoSchema.safeParse(body);
  return parsed.success ? (body as ExchangeInfo) : null;
}
