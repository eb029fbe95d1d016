import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A function the stand-in runs when it is invoked: Lambda's handler signature, as far as the fill reads it. */
export type InvokedHandler = (payload: unknown, context: { awsRequestId: string; getRemainingTimeInMillis(): number }) => Promise<unknown>;

export interface LambdaStandIn {
  /** Endpoint of its Invoke API (LAMBDA_ENDPOINT), e.g. http://127.0.0.1:40123. */
  url: string;
  /** Every invocation, in order: the function's name and its payload. */
  invocations: { functionName: string; payload: unknown }[];
  /** Until switched back, invocations fail as a function's unhandled error does (200 with X-Amz-Function-Error). */
  failing(on: boolean): void;
  close(): Promise<void>;
}

/**
 * Lambda's Invoke API on loopback (POST /2015-03-31/functions/<name>/invocations, RequestResponse): runs the
 * function's handler in this process and answers its result as the payload, as Lambda does.
 */
export async function startLambdaStandIn(functions: Record<string, InvokedHandler>): Promise<LambdaStandIn> {
  const invocations: LambdaStandIn["invocations"] = [];
  let failing = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split("?")[0] ?? "");
      const handler = match && functions[decodeURIComponent(match[1] as string)];
      if (req.method !== "POST" || !match || !handler) {
        res.writeHead(404, { "Content-Type": "application/json", "x-amzn-ErrorType": "ResourceNotFoundException" });
        return res.end(JSON.stringify({ message: "Function not found" }));
      }
      const functionName = decodeURIComponent(match[1] as string);
      const payload: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
      invocations.push({ functionName, payload });
      if (failing) {
        res.writeHead(200, { "Content-Type": "application/json", "X-Amz-Function-Error": "Unhandled" });
        return res.end(JSON.stringify({ errorType: "Error", errorMessage: "The function crashed" }));
      }
      const context = { awsRequestId: `invoke-${invocations.length}`, getRemainingTimeInMillis: () => 60_000 };
      handler(payload, context).then(
        (result) => {
          res.writeHead(200, { "Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST" });
          res.end(JSON.stringify(result ?? null));
        },
        (error: unknown) => {
          res.writeHead(200, { "Content-Type": "application/json", "X-Amz-Function-Error": "Unhandled" });
          res.end(JSON.stringify({ errorType: "Error", errorMessage: String(error) }));
        },
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    failing: (on) => void (failing = on),
    close: () => new Promise((done) => server.close(() => done())),
  };
}
