import type { MiddlewareHandler } from "hono";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { pipeline } from "node:stream";
import { constants, createBrotliCompress, createGzip } from "node:zlib";
import { negotiateCoding, type Coding } from "../encoding.js";
import type { AppEnv } from "../env.js";
import { weakened } from "../revalidation.js";

/** Answers smaller than this are sent as they are: compressing them saves less than its headers cost. */
const MIN_BYTES = 1024;
/** Text (CSV, JSON, the admin page), and Arrow IPC (uncompressed inside); Parquet is compressed inside, and is sent as it is. */
const COMPRESSIBLE = /^(text\/csv|text\/html|application\/json|application\/vnd\.apache\.arrow\.stream)\b/i;

/**
 * Compresses CSV and JSON answers when the client accepts br or gzip, streaming: chunk by chunk as the route
 * produces them, so memory stays bounded whatever the size. The decoded bytes are exactly the uncompressed answer.
 * Brotli runs at quality 4 (its default, 11, is far too slow to run as the answer is sent; 4 compresses CSV of
 * candles better than gzip's default at a similar pace). A compressed answer's ETag is made weak (its bytes differ
 * from the identity's) and every answer says `Vary: Accept-Encoding`.
 */
export const compressAnswers = (): MiddlewareHandler<AppEnv> =>
  async function compressAnswers(c, next) {
    await next();
    const { res } = c;
    const coding = negotiateCoding(c.req.header("Accept-Encoding"));
    if (res.status === 304) {
      if (coding) weakenTag(res.headers);
      res.headers.append("Vary", "Accept-Encoding");
      return;
    }
    if (res.status !== 200 || !res.body || !COMPRESSIBLE.test(res.headers.get("Content-Type") ?? "")) return;
    res.headers.append("Vary", "Accept-Encoding");
    const length = res.headers.get("Content-Length");
    if (!coding || res.headers.has("Content-Encoding") || (length !== null && Number(length) < MIN_BYTES)) return;
    c.res = new Response(compressed(res.body, coding), res);
    c.res.headers.delete("Content-Length");
    c.res.headers.set("Content-Encoding", coding);
    weakenTag(c.res.headers);
  };

function weakenTag(headers: Headers): void {
  const tag = headers.get("ETag");
  if (tag) headers.set("ETag", weakened(tag));
}

function compressed(body: ReadableStream<Uint8Array>, coding: Coding): ReadableStream<Uint8Array> {
  const compressor =
    coding === "br"
      ? createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } })
      : createGzip();
  // pipeline destroys the compressor with the source's error, so a failed read fails the answer, never truncates it silently.
  pipeline(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), compressor, () => {});
  return Readable.toWeb(compressor) as ReadableStream<Uint8Array>;
}
