import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** Anything with a fetch handler, as a Hono app has. */
interface Fetcher {
  fetch: (request: Request) => Response | Promise<Response>;
}

export interface ServedApp {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

/** The app on a real HTTP server on a free loopback port, so that clients that need a URL (ccxt, fetch) can reach it. */
export function serveApp(app: Fetcher): Promise<ServedApp> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            server.closeAllConnections();
          }),
      }),
    ) as Server;
  });
}
