import { fillAsked } from "../src/jobs/fill.js";
import { invokedFunction, lambdaFillFunding, lambdaFillKlines } from "../src/app/lambda.js";

/**
 * Invoked by the klines and binance functions (which only read) with a range: a klines dataset id, or a funding
 * range. Fetches the months the range lacks from Binance, stores them, and answers how far it got. The one writer of
 * the read-through's entries.
 */
export const handler = invokedFunction((payload, deadline) => fillAsked({ klines: lambdaFillKlines, funding: lambdaFillFunding }, payload, deadline));
