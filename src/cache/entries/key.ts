import { createHash } from "node:crypto";
import type { DatasetId } from "../../market.js";

/** md5 hex of SYMBOL_interval_start_end_market, exactly as the original Python service names its files. */
export function datasetKey(id: DatasetId): string {
  const name = `${id.symbol.toUpperCase()}_${id.interval}_${id.start_date}_${id.end_date}_${id.market_type.toLowerCase()}`;
  return createHash("md5").update(name).digest("hex");
}
