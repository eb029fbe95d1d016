import { ValidationError } from "../errors.js";

/**
 * A request refused in Binance's own words (https://developers.binance.com/docs/binance-spot-api-docs/errors):
 * its code and message, so a Binance client's error handling works. A validation error to the rest of the house.
 */
export class BinanceRequestError extends ValidationError {
  override name = "BinanceRequestError";
  constructor(
    readonly binanceCode: number,
    msg: string,
  ) {
    super(msg);
  }
}

/** Binance's messages, word for word, for the codes this API answers. */
export const BINANCE_MESSAGES = {
  invalidSymbol: "Invalid symbol.",
  invalidInterval: "Invalid interval.",
  startAfterEnd: "Start time is greater than end time.",
  mandatory: (name: string) => `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`,
  illegal: (name: string, range: string) => `Illegal characters found in parameter '${name}'; legal range is '${range}'.`,
  invalidData: (name: string) => `Data sent for parameter '${name}' is not valid.`,
} as const;

export const BINANCE_CODES = {
  UNKNOWN: -1000,
  DISCONNECTED: -1001,
  UNAUTHORIZED: -1002,
  TOO_MANY_REQUESTS: -1003,
  SERVER_BUSY: -1008,
  ILLEGAL_CHARS: -1100,
  MANDATORY_PARAM: -1102,
  INVALID_INTERVAL: -1120,
  INVALID_SYMBOL: -1121,
  INVALID_PARAMETER: -1130,
  START_AFTER_END: -1023,
  REJECTED_API_KEY: -2015,
} as const;
