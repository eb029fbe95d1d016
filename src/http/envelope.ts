import type { FieldIssue } from "../errors.js";

/** The two shapes every JSON answer takes. */
export interface SuccessEnvelope<T> {
  status: "success";
  data: T;
  message?: string;
}

export interface ErrorEnvelope {
  status: "error";
  error: { code: string; message: string; issues?: FieldIssue[]; details?: Record<string, unknown> };
}

export const success = <T>(data: T, message?: string): SuccessEnvelope<T> =>
  message === undefined ? { status: "success", data } : { status: "success", message, data };

export const failure = (
  code: string,
  message: string,
  issues?: FieldIssue[],
  details?: Record<string, unknown>,
): ErrorEnvelope => ({
  status: "error",
  error: { code, message, ...(issues ? { issues } : {}), ...(details ? { details } : {}) },
});
