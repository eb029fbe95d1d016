import { Agent, request } from "node:http";

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  sizeBytes: number;
  /** The body, only when asked for with `keepBody`. */
  body?: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Keep the body's bytes (default: only count them, as a client streaming to disk would). */
  keepBody?: boolean;
  agent?: Agent;
}

/** One HTTP/1.1 request to `url`, the answer read to its end. */
export function send(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent: options.agent }, (res) => {
      const chunks: Buffer[] = [];
      let sizeBytes = 0;
      res.on("data", (chunk: Buffer) => {
        sizeBytes += chunk.length;
        if (options.keepBody) chunks.push(chunk);
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          sizeBytes,
          body: options.keepBody ? Buffer.concat(chunks) : undefined,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
