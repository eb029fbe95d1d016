import { createServer } from "node:net";

/** A loopback port nobody listens on right now: bind port 0, read what the OS picked, release it. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("Could not find a free loopback port");
  return address.port;
}
