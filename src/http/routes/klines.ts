import type { Context } from "hono";
import { formatTimestamp } from "../../time.js";
import { klinesUpstreamRequestsKey, type KlinesOutcome } from "../../counters/keys.js";
import { AppError, PayloadTooLargeError } from "../../errors.js";
import { rangeFormOf } from "../../klines/range-forms.js";
import type { KlinesResult, PartitionSource } from "../../klines/service.js";
import { readChunks } from "../../cache/entries/reads.js";
import { loadColumnar } from "../../formats/lazy.js";
import { datasetName } from "../../market.js";
import { kindOf, type SeriesId } from "../../price-kinds.js";
import type { RouteChain } from "../app.js";
import { answerSource } from "../answer/answer.js";
import { rowsJsonOfChunks, sizeOf } from "../answer/chunks.js";
import type { CsvBackedSource } from "../answer/source.js";
import { success } from "../envelope.js";
import { countKlines, outcomeOf } from "../klines-counts.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead, spendOf } from "../middleware/auth.js";
import { compressAnswers } from "../middleware/compress.js";
import { readThroughDeadlineOf } from "../request-deadline.js";
import { cacheControlOfRange, entityTagOfParts } from "../revalidation.js";
import { streamOf } from "../stream.js";
import { seriesFromQuery, wantedFormat } from "../validation.js";

/** GET klines: the closed candles of any range, read through the month partitions. */
export function klines(
  deps: Pick<
    AppDeps,
    "klines" | "cache" | "counters" | "clock" | "access" | "inlineMaxBytes" | "presignTtlSeconds" | "klinesDeadlineMs" | "conversions"
  >,
): RouteChain {
  const { klines, counters, inlineMaxBytes, presignTtlSeconds } = deps;
  /** Shared caches may keep an answer only when anyone may read it. */
  const shared = deps.access.readToken === undefined;

  async function answer(c: Context<AppEnv>): Promise<Response> {
    const id = seriesFromQuery(c);
    const format = wantedFormat(c);
    const deadline = readThroughDeadlineOf(c, deps.clock, deps.klinesDeadlineMs);
    // Counting never waits: the drivers never reject, and an answer is not held up by a slow counter store.
    const result = await klines.get(id, { deadline, spend: spendOf(c, deps.access) }).catch((error: unknown) => {
      const requests = error instanceof AppError ? Number(error.details?.upstream_requests ?? 0) : 0;
      if (requests > 0) void counters.increment(klinesUpstreamRequestsKey(id.market_type, kindOf(id)), requests);
      throw error;
    });
    const outcome = describeOutcome(c, result);
    countKlines(counters, id.market_type, outcome, result, kindOf(id));
    const settled = !result.coverage.reachesNow && result.coverage.gaps.every((gap) => gap.final);
    // The metas are all it takes to tag the answer: a client whose copy is current gets 304 and no CSV is read.
    let chunks: Promise<Uint8Array[]> | null = null;
    const csv = () => (chunks ??= klines.csvChunksOf(result, { deadline }));
    const source: CsvBackedSource = {
      name: id.price ? `${datasetName(id)}_${id.price}` : datasetName(id),
      tagOf: (representation) => entityTagOfRange(result, representation),
      cacheControl: cacheControlOfRange(settled, shared),
      estimatedCsvBytes: estimatedCsvBytes(result),
      jsonFields: (rows) => ({ meta: { ...answerFields(id, result, (ms) => new Date(ms).toISOString()), rows } }),
      csv: async () => {
        const held = await csv();
        return { stream: streamOf(held), sizeBytes: sizeOf(held) };
      },
      rowsJson: async (maxCsvBytes) => rowsJsonOfChunks(await csv(), maxCsvBytes),
      kept: async (form) => {
        const made = await rangeFormOf(result, form, {
          keptOf: async ({ partition, meta }) => {
            const opened = meta && (await deps.cache.openForm(klines.entryOf(partition), meta, form));
            const chunks = opened ? await readChunks(opened) : null;
            return chunks && Buffer.concat(chunks);
          },
          convertedOf: async (part) => {
            const rows = await klines.csvChunksOf({ ...result, partitions: [part] }, { deadline });
            return (await loadColumnar()).columnarBytesOf(form, rows);
          },
          assembled: async (format, pieces) => (await loadColumnar()).assembled(format, pieces),
        });
        return made && { stream: streamOf(made.chunks), sizeBytes: made.sizeBytes };
      },
      tooLarge: () => partsAnswer(c, id, result),
    };
    return answerSource(c, source, format, { inlineMaxBytes, conversions: deps.conversions, deadline: deadline.signal });
  }

  /**
   * Too big to answer inline (Lambda answers at most 6 MB): short-lived URLs of the partitions' CSVs, in order, for
   * the client to read and trim to [from, to). Partitions without rows are left out.
   */
  async function partsAnswer(c: Context<AppEnv>, id: SeriesId, result: KlinesResult): Promise<Response> {
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

/** What every answer says of itself; timestamps in the form of its rows (ISO in JSON, the CSV's form in parts). */
function answerFields(id: SeriesId, result: KlinesResult, time: (ms: number) => string) {
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
  const outcome = outcomeOf(result);
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
