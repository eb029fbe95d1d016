import type { Context } from "hono";
import { PayloadTooLargeError } from "../../errors.js";
import type { FundingResult } from "../../funding/service.js";
import type { RouteChain } from "../app.js";
import { answerSource } from "../answer/answer.js";
import { rowsJsonOfChunks, sizeOf } from "../answer/chunks.js";
import type { CsvBackedSource } from "../answer/source.js";
import type { AppDeps, AppEnv } from "../env.js";
import { countFunding, fundingOutcomeOf } from "../klines-counts.js";
import { requireRead, spendOf } from "../middleware/auth.js";
import { compressAnswers } from "../middleware/compress.js";
import { readThroughDeadlineOf } from "../request-deadline.js";
import { cacheControlOfRange, entityTagOfParts } from "../revalidation.js";
import { streamOf } from "../stream.js";
import { fundingFromQuery, wantedFormat } from "../validation.js";

/**
 * GET funding: a USD-M symbol's funding rates for any range (rows funding_time, symbol, funding_rate, mark_price),
 * read through the month entries, in every format the klines answer has.
 */
export function funding(
  deps: Pick<AppDeps, "funding" | "counters" | "clock" | "access" | "inlineMaxBytes" | "klinesDeadlineMs" | "conversions">,
): RouteChain {
  const { funding, counters, inlineMaxBytes } = deps;
  const shared = deps.access.readToken === undefined;

  async function answer(c: Context<AppEnv>): Promise<Response> {
    const id = fundingFromQuery(c);
    const format = wantedFormat(c);
    const deadline = readThroughDeadlineOf(c, deps.clock, deps.klinesDeadlineMs);
    const result = await funding.get(id, { deadline, spend: spendOf(c, deps.access) });
    const outcome = fundingOutcomeOf(result);
    countFunding(counters, outcome, result);
    describe(c, result, outcome);
    const settled = !result.coverage.reachesNow && result.coverage.unproven.length === 0;
    let chunks: Promise<Uint8Array[]> | null = null;
    const csv = () => (chunks ??= funding.csvChunksOf(result, { deadline }));
    const source: CsvBackedSource = {
      name: `${id.symbol}_funding_${id.start_date}_${id.end_date}_futures`,
      tagOf: (representation) =>
        entityTagOfParts(
          result.months.map((part) => part.meta),
          JSON.stringify([result.range.startMs, result.range.endMs, result.coverage]),
          `funding:${representation}`,
        ),
      cacheControl: cacheControlOfRange(settled, shared),
      jsonFields: (rows) => ({ meta: { ...answerFields(result), rows } }),
      csv: async () => {
        const held = await csv();
        return { stream: streamOf(held), sizeBytes: sizeOf(held) };
      },
      rowsJson: async (maxCsvBytes) => rowsJsonOfChunks(await csv(), maxCsvBytes),
      tooLarge: async () => {
        throw new PayloadTooLargeError(`The answer is over the ${inlineMaxBytes} bytes answered inline here; ask for a shorter range`);
      },
    };
    return answerSource(c, source, format, { inlineMaxBytes, conversions: deps.conversions, deadline: deadline.signal });
  }

  return [requireRead(deps.access), compressAnswers(), answer];
}

/** What every funding answer says of itself. */
function answerFields(result: FundingResult) {
  return {
    ...result.id,
    market_type: "futures",
    from: new Date(result.range.startMs).toISOString(),
    to: new Date(result.range.endMs).toISOString(),
    reaches_now: result.coverage.reachesNow,
    unproven: result.coverage.unproven,
  };
}

/** X-Cache and friends, as the klines answer has them (months for partitions). */
function describe(c: Context<AppEnv>, result: FundingResult, outcome: string): void {
  const count = (...sources: string[]) => result.months.filter((part) => sources.includes(part.source)).length;
  c.set("cacheOutcome", outcome === "hit" ? "hit" : "absent");
  c.header("X-Cache", outcome.toUpperCase());
  c.header("X-Partitions-Cached", String(count("cached")));
  c.header("X-Partitions-Fetched", String(count("fetched", "extended")));
  c.header("X-Upstream-Requests", String(result.upstreamRequests));
  c.header("X-Reaches-Now", String(result.coverage.reachesNow));
  c.header("X-Unproven", String(result.coverage.unproven.length));
}
