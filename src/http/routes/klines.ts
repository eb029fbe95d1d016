import type { Context } from "hono";
import { formatTimestamp } from "../../time.js";
import { klinesArchiveKey, klinesOutcomeKey, klinesUpstreamRequestsKey, type KlinesOutcome } from "../../counters/keys.js";
import { deadlineIn } from "../../deadline.js";
import { AppError, PayloadTooLargeError } from "../../errors.js";
import type { KlinesResult, PartitionSource } from "../../klines/service.js";
import { csvRowsOf } from "../../csv/grammar.js";
import { csvToJsonRows, jsonRowsOf, STREAM_JSON_ABOVE_BYTES } from "../../csv/json-rows.js";
import { datasetName, type DatasetId } from "../../market.js";
import type { RouteChain } from "../app.js";
import { success, successWithRows, successWithRowsStream } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead, spendOf } from "../middleware/auth.js";
import { compressAnswers } from "../middleware/compress.js";
import { cacheControlOfRange, entityTagOfParts, matchesIfNoneMatch } from "../revalidation.js";
import { datasetFromQuery, wantedFormat } from "../validation.js";
import { streamOf, streamOfGenerator } from "../stream.js";
import { loadColumnar } from "../../formats/lazy.js";
import { isColumnar, MEDIA_TYPES } from "../../formats/media.js";

/** What a Lambda keeps back from its remaining time to write the answer: Lambda's own timeout never ends a request. */
const LAMBDA_MARGIN_MS = 3_000;

/** GET klines: the closed candles of any range, read through the month partitions. */
export function klines(
  deps: Pick<
    AppDeps,
    "klines" | "cache" | "counters" | "clock" | "access" | "inlineMaxBytes" | "presignTtlSeconds" | "klinesDeadlineMs"
  >,
): RouteChain {
  const { klines, counters, inlineMaxBytes, presignTtlSeconds } = deps;
  /** Shared caches may keep an answer only when anyone may read it. */
  const shared = deps.access.readToken === undefined;
  const overInline = (sizeBytes: number) => inlineMaxBytes !== undefined && sizeBytes > inlineMaxBytes;

  async function answer(c: Context<AppEnv>): Promise<Response> {
    const id = datasetFromQuery(c);
    const format = wantedFormat(c);
    const lambda = c.env?.lambdaContext;
    const budgetMs = lambda ? lambda.getRemainingTimeInMillis() - LAMBDA_MARGIN_MS : deps.klinesDeadlineMs;
    const deadline = deadlineIn(deps.clock, budgetMs);
    // Counting never waits: the drivers never reject, and an answer is not held up by a slow counter store.
    const result = await klines.get(id, { deadline, spend: spendOf(c, deps.access) }).catch((error: unknown) => {
      const requests = error instanceof AppError ? Number(error.details?.upstream_requests ?? 0) : 0;
      if (requests > 0) void counters.increment(klinesUpstreamRequestsKey(id.market_type), requests);
      throw error;
    });
    const outcome = describeOutcome(c, result);
    const { market_type: market } = id;
    const counts: [string, number][] = [
      [klinesOutcomeKey(market, outcome), 1],
      [klinesUpstreamRequestsKey(market), result.upstreamRequests],
      [klinesArchiveKey(market, "hit"), result.archive.files],
      [klinesArchiveKey(market, "miss"), result.archive.missing],
      [klinesArchiveKey(market, "failure"), result.archive.failed],
      [klinesArchiveKey(market, "incomplete"), result.archive.incomplete],
    ];
    for (const [key, by] of counts) if (by > 0) void counters.increment(key, by);
    if (overInline(estimatedCsvBytes(result))) return partsAnswer(c, id, result);

    const tag = entityTagOfRange(result, format);
    const settled = !result.coverage.reachesNow && result.coverage.gaps.every((gap) => gap.final);
    const validators = { ETag: tag, "Cache-Control": cacheControlOfRange(settled, shared) };
    // The metas are all it takes to know the client's copy is current: no partition's CSV is read.
    if (matchesIfNoneMatch(c.req.header("If-None-Match"), tag)) return c.body(null, 304, validators);
    const csv = await klines.csvChunksOf(result, { deadline });
    if (isColumnar(format)) {
      const { columnarOf } = await loadColumnar();
      const body = await columnarOf(format, async () => inOrder(csv));
      const name = `${datasetName(id)}.${format}`;
      return c.body(streamOfGenerator(body), 200, {
        ...validators,
        "Content-Type": MEDIA_TYPES[format],
        "Content-Disposition": `inline; filename="${name}"`,
      });
    }
    if (format === "json" && inlineMaxBytes === undefined && sizeOf(csv) > STREAM_JSON_ABOVE_BYTES) {
      // Not built whole: a year of 1m candles is 136 MB of JSON. Written 64 KB at a time from the CSV.
      const rows = csvRowsOf(csv);
      const meta = { ...answerFields(id, result, (ms) => new Date(ms).toISOString()), rows };
      const body = successWithRowsStream({ meta }, jsonRowsOf(inOrder(csv), rows));
      return c.body(streamOfGenerator(body), 200, { ...validators, "Content-Type": "application/json" });
    }
    const body = format === "csv" ? { chunks: csv, sizeBytes: sizeOf(csv) } : jsonAnswer(id, result, csv);
    if (overInline(body.sizeBytes)) return partsAnswer(c, id, result);
    const name = `${datasetName(id)}.csv`;
    const headers: Record<string, string> =
      format === "csv"
        ? { "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `inline; filename="${name}"` }
        : { "Content-Type": "application/json" };
    return c.body(streamOf(body.chunks), 200, { ...headers, ...validators, "Content-Length": String(body.sizeBytes) });
  }

  /**
   * Too big to answer inline (Lambda answers at most 6 MB): short-lived URLs of the partitions' CSVs, in order, for
   * the client to read and trim to [from, to). Partitions without rows are left out.
   */
  async function partsAnswer(c: Context<AppEnv>, id: DatasetId, result: KlinesResult): Promise<Response> {
    const stored = result.partitions.filter((part) => part.meta && part.meta.rows > 0);
    const parts = await Promise.all(
      stored.map(async ({ partition, meta }) => {
        const url = await deps.cache.downloadUrl(klines.entryOf(partition), presignTtlSeconds);
        if (!url) {
          throw new PayloadTooLargeError(
            `The answer is over the ${inlineMaxBytes} bytes answered inline here and this store cannot hand out ` +
              "download URLs; ask for a shorter range",
          );
        }
        return { start_date: partition.id.start_date, end_date: partition.id.end_date, rows: meta?.rows ?? 0, url };
      }),
    );
    c.header("Cache-Control", "no-store");
    const fields = answerFields(id, result, formatTimestamp);
    return c.json(success({ ...fields, expires_in_seconds: presignTtlSeconds, parts }));
  }

  return [requireRead(deps.access), compressAnswers(), answer];
}

/** The answer's tag: its range, its partitions' content and its gaps decide its bytes. */
function entityTagOfRange(result: KlinesResult, format: string): string {
  const { range, coverage } = result;
  const decides = JSON.stringify([range.startMs, range.endMs, coverage.reachesNow, coverage.gaps]);
  return entityTagOfParts(
    result.partitions.map((part) => part.meta),
    decides,
    format,
  );
}

/** Chunks in memory as the async source the columnar forms read. */
async function* inOrder(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

const sizeOf = (chunks: readonly Uint8Array[]) => chunks.reduce((sum, chunk) => sum + chunk.length, 0);

/** `{"status":"success","data":{"meta":…,"rows":[…]}}`, the rows' JSON written from the CSV without building rows. */
function jsonAnswer(id: DatasetId, result: KlinesResult, csv: Uint8Array[]): { chunks: Uint8Array[]; sizeBytes: number } {
  const rows = csvToJsonRows(csv);
  const meta = { ...answerFields(id, result, (ms) => new Date(ms).toISOString()), rows: rows.rows };
  return successWithRows({ meta }, rows.chunks);
}

/** What every answer says of itself; timestamps in the form of its rows (ISO in JSON, the CSV's form in parts). */
function answerFields(id: DatasetId, result: KlinesResult, time: (ms: number) => string) {
  return {
    ...id,
    from: time(result.range.startMs),
    to: time(result.range.endMs),
    reaches_now: result.coverage.reachesNow,
    gaps: result.coverage.gaps.map((gap) => ({ from: time(gap.fromMs), to: time(gap.toMs), missing: gap.missing, final: gap.final })),
  };
}

/** The answer's CSV size without reading it: each partition's size, in proportion to its time inside the range. */
function estimatedCsvBytes({ partitions, range }: KlinesResult): number {
  return partitions.reduce((sum, { partition, meta }) => {
    const insideMs = Math.min(range.endMs, partition.endMs) - Math.max(range.startMs, partition.startMs);
    return sum + ((meta?.csv_bytes ?? 0) * insideMs) / (partition.endMs - partition.startMs);
  }, 0);
}

/** X-Cache and friends: where the partitions came from, what it cost upstream, whether the answer reaches now. */
function describeOutcome(c: Context<AppEnv>, result: KlinesResult): KlinesOutcome {
  const count = (...sources: PartitionSource[]) => result.partitions.filter((part) => sources.includes(part.source)).length;
  const cached = count("cached");
  const fetched = count("fetched", "extended");
  const outcome = fetched === 0 ? "hit" : cached + count("extended") === 0 ? "miss" : "partial";
  c.set("cacheOutcome", outcome === "hit" ? "hit" : "absent");
  c.header("X-Cache", outcome.toUpperCase());
  c.header("X-Partitions-Cached", String(cached));
  c.header("X-Partitions-Fetched", String(fetched));
  c.header("X-Upstream-Requests", String(result.upstreamRequests));
  c.header("X-Archive-Files", String(result.archive.files));
  c.header("X-Archive-Incomplete", String(result.archive.incomplete));
  c.header("X-Reaches-Now", String(result.coverage.reachesNow));
  c.header("X-Gaps", String(result.coverage.gaps.length));
  return outcome;
}
