import type { Deadline } from "../deadline.js";
import { ValidationError } from "../errors.js";
import { fillErrorOf, type FillAnswer } from "../klines/fill.js";
import { calendarDate, symbolSchema } from "../market.js";
import * as z from "zod/mini";
import type { FundingId, FundingRequest, FundingResult } from "./service.js";

const fundingFillSchema = z.object({ series: z.literal("funding"), symbol: symbolSchema, start_date: calendarDate, end_date: calendarDate });

/**
 * The fill of a funding range: every month it lacks fetched from Binance and stored (inline, with the leases and
 * budget of any fetch), up to `deadline`. Never throws: an error is answered, as the klines fill's.
 */
export async function fillFunding(
  funding: { get(id: FundingId, request: FundingRequest): Promise<Pick<FundingResult, "months" | "upstreamRequests">> },
  request: unknown,
  deadline: Deadline,
): Promise<FillAnswer> {
  try {
    const parsed = fundingFillSchema.safeParse(request);
    if (!parsed.success) throw new ValidationError("The fill was asked for no funding range");
    const { symbol, start_date, end_date } = parsed.data;
    const result = await funding.get({ symbol, start_date, end_date }, { deadline, spend: "allowed" });
    const archive = { files: 0, missing: 0, failed: 0, incomplete: 0 };
    return { ok: true, partitions: result.months.length, upstream_requests: result.upstreamRequests, archive };
  } catch (error) {
    return { ok: false, error: fillErrorOf(error) };
  }
}
