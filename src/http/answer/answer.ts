import type { Context } from "hono";
import { AppError, StorageUnavailableError } from "../../errors.js";
import type { Conversions } from "../../formats/conversions.js";
import type { CsvSource } from "../../formats/columnar.js";
import { loadColumnar } from "../../formats/lazy.js";
import { isColumnar, MEDIA_TYPES, type ColumnarFormat, type Format } from "../../formats/media.js";
import { successWithRows, successWithRowsStream } from "../envelope.js";
import type { AppEnv } from "../env.js";
import { matchesIfNoneMatch } from "../revalidation.js";
import { streamOf, streamOfGenerator } from "../stream.js";
import type { CsvBackedSource, SizedStream } from "./source.js";

export interface AnswerOptions {
  /** The largest body answered inline (Lambda's answers are at most 6 MB); undefined: no limit. */
  inlineMaxBytes: number | undefined;
  conversions: Pick<Conversions, "stream" | "waitSignal">;
  /** The request's deadline, which ends a conversion's wait for a slot if it comes first. */
  deadline?: AbortSignal;
}

/** Says whether a columnar answer was the kept form (HIT) or converted for this request (MISS). */
const FORM_HEADERS = { parquet: "X-Parquet", arrow: "X-Arrow" } as const;

/**
 * The one way a CSV-backed source is answered, in any format: its validators (a client whose copy is current gets
 * 304 and nothing is read), the inline limit (over it the source says what is answered: a redirect, parts, an
 * error), media types, lengths and file names. Columnar answers are the kept form when there is one, else converted
 * for the request in a conversion slot and not kept.
 */
export async function answerSource(c: Context<AppEnv>, source: CsvBackedSource, format: Format, options: AnswerOptions): Promise<Response> {
  const validators = { ETag: source.tagOf(format), "Cache-Control": source.cacheControl };
  if (matchesIfNoneMatch(c.req.header("If-None-Match"), validators.ETag)) {
    source.served?.();
    return c.body(null, 304, validators);
  }
  const overInline = (sizeBytes: number) => options.inlineMaxBytes !== undefined && sizeBytes > options.inlineMaxBytes;
  if (source.estimatedCsvBytes !== undefined && overInline(source.estimatedCsvBytes)) return source.tooLarge(format);
  const disposition = (extension: string) => ({ "Content-Disposition": `inline; filename="${source.name}.${extension}"` });

  if (format === "feather") return featherAnswer(c, source, options, { ...validators, ...disposition("feather") });

  if (isColumnar(format)) {
    const kept = (await source.kept?.(format)) ?? null;
    if (kept) {
      source.served?.();
      c.header(FORM_HEADERS[format], "HIT");
      if (overInline(kept.sizeBytes)) {
        if (source.keptUrl) return redirectTo(c, kept, await source.keptUrl(format));
        await kept.stream.cancel();
        return source.tooLarge(format);
      }
      const headers = { ...validators, "Content-Type": MEDIA_TYPES[format], "Content-Length": String(kept.sizeBytes) };
      return c.body(kept.stream, 200, { ...headers, ...disposition(format) });
    }
    c.header(FORM_HEADERS[format], "MISS");
  }

  if (format === "json") {
    const json = await source.rowsJson(options.inlineMaxBytes);
    source.served?.();
    if ("stream" in json) {
      const body = successWithRowsStream(source.jsonFields(json.rows), json.stream);
      return c.body(streamOfGenerator(body), 200, { ...validators, "Content-Type": MEDIA_TYPES.json });
    }
    const body = successWithRows(source.jsonFields(json.rows), json.chunks);
    if (overInline(body.sizeBytes)) return source.tooLarge(format);
    const headers = { ...validators, "Content-Type": MEDIA_TYPES.json, "Content-Length": String(body.sizeBytes) };
    return c.body(streamOf(body.chunks), 200, headers);
  }

  const first = await source.csv();
  source.served?.();
  if (overInline(first.sizeBytes)) {
    await first.stream.cancel();
    return source.tooLarge(format);
  }
  if (isColumnar(format)) return converted(c, source, format, first, options, { ...validators, ...disposition(format) });
  const headers = { ...validators, "Content-Type": "text/csv; charset=utf-8", "Content-Length": String(first.sizeBytes) };
  return c.body(first.stream, 200, { ...headers, ...disposition("csv") });
}

/**
 * The Arrow IPC file (Feather) of the source: its Arrow stream — the form kept beside it (`X-Arrow: HIT`), or converted
 * for this request in a conversion slot (`MISS`) — rewritten as a file, whole: the file's footer says where each
 * batch starts, so it cannot be streamed as it is made. Over the inline limit it is what the source says (tooLarge).
 */
async function featherAnswer(c: Context<AppEnv>, source: CsvBackedSource, options: AnswerOptions, headers: Record<string, string>): Promise<Response> {
  const overInline = (sizeBytes: number) => options.inlineMaxBytes !== undefined && sizeBytes > options.inlineMaxBytes;
  const kept = (await source.kept?.("arrow")) ?? null;
  let stream: Uint8Array[];
  if (kept) {
    c.header(FORM_HEADERS.arrow, "HIT");
    if (overInline(kept.sizeBytes)) {
      await kept.stream.cancel();
      return source.tooLarge("feather");
    }
    stream = await collect(kept.stream as unknown as AsyncIterable<Uint8Array>);
  } else {
    c.header(FORM_HEADERS.arrow, "MISS");
    const first = await source.csv();
    if (overInline(first.sizeBytes)) {
      await first.stream.cancel();
      return source.tooLarge("feather");
    }
    const csv = reopen(first.stream, () => source.csv());
    const waits = options.conversions.waitSignal(options.deadline);
    stream = await collect(await options.conversions.stream(async () => (await loadColumnar()).columnarOf("arrow", csv), waits));
  }
  source.served?.();
  const file = (await loadColumnar()).featherOf(Buffer.concat(stream));
  if (overInline(file.length)) return source.tooLarge("feather");
  return c.body(file as Uint8Array<ArrayBuffer>, 200, { ...headers, "Content-Type": MEDIA_TYPES.feather, "Content-Length": String(file.length) });
}

async function collect(parts: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const part of parts) chunks.push(part);
  return chunks;
}

/** The source's CSV converted to `format` for this request, in a conversion slot (the CSV is read twice). */
async function converted(
  c: Context<AppEnv>,
  source: CsvBackedSource,
  format: ColumnarFormat,
  first: SizedStream,
  options: AnswerOptions,
  headers: Record<string, string>,
): Promise<Response> {
  const csv = reopen(first.stream, () => source.csv());
  const waits = options.conversions.waitSignal(options.deadline);
  const body = await options.conversions
    .stream(async () => (await loadColumnar()).columnarOf(format, csv), waits)
    .catch(async (error: unknown) => {
      await first.stream.cancel().catch(() => undefined);
      throw error;
    });
  return c.body(streamOfGenerator(body), 200, { ...headers, "Content-Type": MEDIA_TYPES[format] });
}

/** 303 to the store's own copy (not cached: the URL is short-lived); an error when the store cannot hand one out. */
async function redirectTo(c: Context<AppEnv>, opened: SizedStream, url: string | null): Promise<Response> {
  await opened.stream.cancel();
  return redirectToStore(c, url);
}

/**
 * The CSV as a source the columnar forms read twice: the stream already open first, then a fresh read of the same
 * proven source (one replaced between the two reads fails the request, never mixes).
 */
function reopen(first: ReadableStream<Uint8Array>, again: () => Promise<SizedStream>): CsvSource {
  let opened: ReadableStream<Uint8Array> | null = first;
  return async () => {
    const stream = opened ?? (await again().catch(changed)).stream;
    opened = null;
    return stream as unknown as AsyncIterable<Uint8Array>;
  };
}

function changed(error: unknown): never {
  if (error instanceof AppError && error.code === "CACHE_MISS") {
    throw new StorageUnavailableError("The entry changed while it was being converted; ask again");
  }
  throw error;
}

export function directTransferUnavailable(): AppError {
  return new AppError(
    "DIRECT_TRANSFER_UNAVAILABLE",
    "Direct transfers need STORAGE_DRIVER=s3; with this store, PUT and GET /api/v1/backtest/cache/data directly",
  );
}

/** Redirects to the store's copy of a body too large to answer inline. */
export async function redirectToStore(c: Context<AppEnv>, url: string | null): Promise<Response> {
  if (!url) throw directTransferUnavailable();
  c.header("Cache-Control", "no-store");
  return c.redirect(url, 303);
}
