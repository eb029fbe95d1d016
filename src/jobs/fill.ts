import type { Deadline } from "../deadline.js";
import { fillFunding } from "../funding/fill.js";
import { fill, isFundingFill, type FillAnswer, type FillingKlines } from "../klines/fill.js";

/**
 * The fill function's one entry: a funding range (`series: "funding"`) to the funding read-through, anything else (a
 * klines range's dataset id) to the klines one. Never throws (see fill, fillFunding).
 */
export function fillAsked(
  targets: { klines: () => FillingKlines; funding: () => Parameters<typeof fillFunding>[0] },
  payload: unknown,
  deadline: Deadline,
): Promise<FillAnswer> {
  return isFundingFill(payload) ? fillFunding(targets.funding(), payload, deadline) : fill(targets.klines(), payload, deadline);
}
