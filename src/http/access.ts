/**
 * Who may read, and who may write or spend (make the service fetch from Binance and store what it got):
 * - with a write token (CACHE_API_TOKEN), writes and fetches need it;
 * - without one, writes are "open" (the local server, or ALLOW_OPEN_WRITES=true) or "closed" (deployed: 403);
 * - with a read token (CACHE_READ_TOKEN), every read needs it or the write token; without one, reads are open.
 */
export interface Access {
  writeToken?: string;
  readToken?: string;
  withoutWriteToken: "open" | "closed";
}

/** What a klines request may do beyond reading the cache (see KlinesRequest.spend). */
export type Spend = "allowed" | "token_required" | "writes_disabled";
