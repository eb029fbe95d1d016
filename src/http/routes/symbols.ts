import { NotFoundError, ValidationError } from "../../errors.js";
import { MARKET_TYPES, type MarketType } from "../../market.js";
import type { RouteChain } from "../app.js";
import { success } from "../envelope.js";
import type { AppDeps } from "../env.js";
import { requireRead } from "../middleware/auth.js";

const CONTRACT_TYPE = /^[A-Z_]{1,40}$/;

/** GET symbols/spot|futures: the exchange's USDT symbols, read through Redis. */
export function symbols(deps: Pick<AppDeps, "symbols" | "access">): RouteChain {
  return [
    requireRead(deps.access),
    async function symbols(c) {
      const market = c.req.param("market") as MarketType;
      if (!MARKET_TYPES.includes(market)) throw new NotFoundError("Markets are spot and futures");
      const asked = c.req.query("contract_types");
      const contractTypes = asked?.split(",").map((type) => type.trim().toUpperCase());
      if (contractTypes && (market !== "futures" || !contractTypes.every((type) => CONTRACT_TYPE.test(type)))) {
        throw new ValidationError("Invalid query parameters", [
          { field: "contract_types", message: "is for futures only: a comma-separated list like PERPETUAL,CURRENT_QUARTER" },
        ]);
      }
      const found = await deps.symbols.get(market, contractTypes);
      c.header("X-Cache", found.source.toUpperCase());
      return c.json(success({ market, count: found.symbols.length, symbols: found.symbols }));
    },
  ];
}
