import type { AskFill } from "../klines/asked-supply.js";
import type { FillAnswer } from "../klines/fill.js";

export interface LambdaAskFillOptions {
  /** The fill function's name or ARN (FILL_FUNCTION_NAME). */
  functionName: string;
  region: string;
  /** The Lambda API's endpoint (LocalStack, a test's stand-in); AWS's by default. */
  endpoint?: string;
  /** Bound of one ask, the fill's own timeout and a margin: what ends it sooner is the request's deadline. */
  timeoutMs?: number;
}

/**
 * Asks the fill function through Lambda's Invoke API and waits for its answer (RequestResponse). When the asker's
 * deadline fires first, the invocation goes on: the fill runs to its end and keeps what it stored. One attempt: a
 * throttled or failed ask is answered 503, and the client's next try asks again. The Lambda client is loaded on
 * the first ask, so a warm range never pays its import.
 */
export function createLambdaAskFill(options: LambdaAskFillOptions): AskFill {
  const { functionName, region, endpoint } = options;
  const timeoutMs = options.timeoutMs ?? 310_000;
  let lambda: ReturnType<typeof load> | undefined;
  function load() {
    return import("@aws-sdk/client-lambda").then(({ LambdaClient, InvokeCommand }) => ({
      client: new LambdaClient({ region, endpoint, maxAttempts: 1, requestHandler: { requestTimeout: timeoutMs } }),
      InvokeCommand,
    }));
  }

  return async (request, signal) => {
    const { client, InvokeCommand } = await (lambda ??= load());
    const out = await client.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: JSON.stringify(request) }),
      { abortSignal: signal },
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : "";
    if (out.FunctionError) throw new Error(`The fill function failed (${out.FunctionError}): ${text.slice(0, 500)}`);
    const answer = JSON.parse(text) as FillAnswer;
    if (typeof answer?.ok !== "boolean") throw new Error(`The fill function answered what is not a fill's answer: ${text.slice(0, 200)}`);
    return answer;
  };
}
