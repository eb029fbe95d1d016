import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { UnauthorizedError } from "../../errors.js";
import type { AppEnv } from "../env.js";

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

/**
 * Requires `Authorization: Bearer <token>` when a token is configured; open otherwise. Compares digests in
 * constant time, so neither the token's content nor its length leaks through timing.
 */
export const requireToken = (token: string | undefined): MiddlewareHandler<AppEnv> =>
  async function requireToken(c, next) {
    if (token === undefined) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1] as string), digest(token))) {
      throw new UnauthorizedError(
        header ? "Wrong bearer token" : "This operation needs an 'Authorization: Bearer <CACHE_API_TOKEN>' header",
      );
    }
    return next();
  };
