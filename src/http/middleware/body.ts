import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError } from "../../errors.js";
import type { AppEnv } from "../env.js";

/** Refuses bodies over `maxBytes` (by Content-Length, or while reading a chunked body) with 413. */
export const limitBody = (maxBytes: number): MiddlewareHandler<AppEnv> =>
  bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(`Body is larger than ${Math.round(maxBytes / 2 ** 20)} MB (MAX_BODY_MB)`);
    },
  });
