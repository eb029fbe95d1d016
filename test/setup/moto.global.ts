import type { TestProject } from "vitest/node";
import { startMotoServer } from "../../src/local/moto.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the moto_server S3 stand-in, e.g. http://127.0.0.1:41234 */
    s3Endpoint: string;
  }
}

/** Starts moto_server on a free loopback port for the whole run and provides its URL as `s3Endpoint`. */
export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const moto = await startMotoServer();
  provide("s3Endpoint", moto.endpoint);
  return () => moto.stop();
}
