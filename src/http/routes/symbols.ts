import { Hono } from "hono";
import { MARKET_TYPES, type MarketType } from "../../market.js";
import { NotFoundError, ValidationError } from "../../errors.js";
import { success } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead } from "../middleware/auth.js";

const CONTRACT_TYPE = /^[A-Z_]{1,40}$/;

/** GET /api/v1/symbols/spot|futures: the exchange's USDT symbols, read through Redis. */
export function symbolRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/:market", requireRead(deps.access), async (c) => {
    const market = c.req.param("market") as MarketType;
    if (!MARKET_TYPES.includes(market)) throw new NotFoundError("Markets are spot and futures", "NOT_FOUND");
    const asked = c.req.query("contract_types");
    const contractTypes = asked?.split(",").map((type) => type.trim().toUpperCase());
    if (contractTypes && (market !== "futures" || !contractTypes.every((type) => CONTRACT_TYPE.test(type)))) {
      throw new ValidationError("Invalid query parameters", [
        { field: "contract_types", message: "is for futures only: a comma-separated list like PERPETUAL,CURRENT_QUARTER" },
      ]);
    }
    const { symbols, source } = await deps.symbols.get(market, contractTypes);
    c.header("X-Cache", source.toUpperCase());
    return c.json(success({ market, count: symbols.length, symbols }));
  });

  return app;
}
