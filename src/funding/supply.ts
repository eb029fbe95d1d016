import type { Clock } from "../clock.js";
import { UpstreamUnavailableError } from "../errors.js";
import { errorOfFill, type FillAnswer, type FundingFillRequest } from "../klines/fill.js";
import type { Log } from "../log.js";
import { mapLimit } from "../util/map-limit.js";
import type { FundingFetcher } from "./fetcher.js";
import type { FundingSupply } from "./service.js";
import { servedAsStored, type FundingReads, type ServedMonth } from "./store.js";

/** Where the months come from when this process may write: fetched here, under their leases. */
export const createInlineFundingSupply = (fetcher: Pick<FundingFetcher, "fetch">): FundingSupply => ({
  supply: (_id, wants, request) => fetcher.fetch(wants, request),
});

/**
 * Where the months come from when this process only reads (Lambda's klines and binance functions): the fill
 * function is asked to fetch the range and store it, then the months are read from the store. A range still filling
 * when the request's time is up answers 503 with when to ask again; the fill goes on meanwhile.
 */
export function createAskedFundingSupply(options: {
  reads: FundingReads;
  ask: (request: FundingFillRequest, signal: AbortSignal | undefined) => Promise<FillAnswer>;
  clock: Clock;
  log: Pick<Log, "error">;
}): FundingSupply {
  const { reads, ask, clock, log } = options;
  const stillFilling = () => new UpstreamUnavailableError("These funding rates are being fetched from Binance", { retryAt: new Date(clock.now().getTime() + 1000) });
  return {
    async supply(id, wants, request) {
      let answer: FillAnswer;
      try {
        answer = await ask({ series: "funding", ...id }, request.deadline?.signal);
      } catch (error) {
        if (request.deadline?.signal.aborted) throw stillFilling();
        log.error("funding_fill_not_asked", { range: id, error });
        throw new UpstreamUnavailableError("The fill of these funding rates could not be asked now", { retryAt: new Date(clock.now().getTime() + 1000) });
      }
      if (!answer.ok) throw errorOfFill(answer.error);
      request.addRequests(answer.upstream_requests);
      // The fill fetched what could be had: the months are served as it stored them.
      return mapLimit(wants, 8, async (want): Promise<ServedMonth> => {
        const stored = await reads.load(want.month, request.deadline?.signal);
        if (!stored) throw stillFilling();
        return servedAsStored(want.month, want.stored ? "extended" : "fetched", stored);
      });
    },
  };
}
