import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { UnauthorizedError, WritesDisabledError } from "../../errors.js";
import type { Access, Spend } from "../access.js";
import type { AppEnv } from "../env.js";


const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

/** The bearer token the request presents, or null. */
function bearerOf(c: Context<AppEnv>): string | null {
  const match = /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "");
  return match ? (match[1] as string) : null;
}

/** Compares digests in constant time, so neither a token's content nor its length leaks through timing. */
function presents(c: Context<AppEnv>, token: string): boolean {
  const bearer = bearerOf(c);
  return bearer !== null && timingSafeEqual(digest(bearer), digest(token));
}

function missingOrWrong(c: Context<AppEnv>, name: string): UnauthorizedError {
  return new UnauthorizedError(c.req.header("authorization") ? "Wrong bearer token" : `This operation needs an 'Authorization: Bearer <${name}>' header`);
}

/** Writes: PUT, DELETE, clear, sweep, upload-url, commit. */
export const requireWrite = (access: Access): MiddlewareHandler<AppEnv> =>
  async function requireWrite(c, next) {
    if (access.writeToken !== undefined) {
      if (!presents(c, access.writeToken)) throw missingOrWrong(c, "CACHE_API_TOKEN");
    } else if (access.withoutWriteToken === "closed") {
      throw new WritesDisabledError(
        "Writes are disabled: this deployment has no CACHE_API_TOKEN (set one, or ALLOW_OPEN_WRITES=true to open them)",
      );
    }
    return next();
  };

/** Reads, when a read token is set: it or the write token. */
export const requireRead = (access: Access): MiddlewareHandler<AppEnv> =>
  async function requireRead(c, next) {
    const { readToken, writeToken } = access;
    if (readToken !== undefined && !presents(c, readToken) && !(writeToken !== undefined && presents(c, writeToken))) {
      throw missingOrWrong(c, "CACHE_READ_TOKEN");
    }
    return next();
  };

/** Whether this request may fetch from Binance: as a write does. */
export function spendOf(c: Context<AppEnv>, access: Access): Spend {
  if (access.writeToken !== undefined) return presents(c, access.writeToken) ? "allowed" : "token_required";
  return access.withoutWriteToken === "closed" ? "writes_disabled" : "allowed";
}
