import { fill } from "../src/klines/fill.js";
import { invokedFunction, lambdaFillKlines } from "../src/app/lambda.js";

/**
 * Invoked by the klines function (which only reads) with a range's dataset id: fetches the partitions the range
 * lacks from Binance, stores them, and answers how far it got. The one writer of the read-through's partitions.
 */
export const handler = invokedFunction((payload, deadline) => fill(lambdaFillKlines(), payload, deadline));
