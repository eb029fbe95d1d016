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

/**
 * `{"status":"success","data":{...fields,"rows":<rows>}}`, the very bytes `c.json(success({...fields, rows}))`
 * would answer, around rows already written as JSON (in chunks): streamed from them, never built as one string.
 */
export function successWithRows(fields: Record<string, unknown>, rowsJson: readonly Uint8Array[]): { chunks: Uint8Array[]; sizeBytes: number } {
  const encoder = new TextEncoder();
  const inner = JSON.stringify(fields);
  const head = encoder.encode(`{"status":"success","data":${inner.slice(0, -1)}${inner === "{}" ? "" : ","}"rows":`);
  const chunks = [head, ...rowsJson, encoder.encode("}}")];
  return { chunks, sizeBytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0) };
}

/** successWithRows for rows' JSON that arrives as a stream: the same bytes, in order, with no size known ahead. */
export async function* successWithRowsStream(fields: Record<string, unknown>, rowsJson: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const [head, tail] = successWithRows(fields, []).chunks as [Uint8Array, Uint8Array];
  yield head;
  yield* rowsJson;
  yield tail;
}
