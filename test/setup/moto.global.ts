import type { TestProject } from "vitest/node";
import { startMotoServer } from "../../dev/moto.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the S3-compatible server the S3 suites use, e.g. http://127.0.0.1:41234 */
    s3Endpoint: string;
  }
}

/**
 * Starts moto_server on a free loopback port for the whole run and provides its URL as `s3Endpoint`; or, when
 * TEST_S3_ENDPOINT is set (`TEST_S3_ENDPOINT=http://localhost:4566 npm test`), uses the S3-compatible server the user
 * already runs there (LocalStack, MinIO), with TEST_S3_ACCESS_KEY_ID / TEST_S3_SECRET_ACCESS_KEY when it needs real
 * credentials. Every test makes its own bucket.
 */
export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TEST_S3_ENDPOINT;
  if (given) {
    provide("s3Endpoint", given.replace(/\/+$/, ""));
    return async () => {};
  }
  const moto = await startMotoServer();
  provide("s3Endpoint", moto.endpoint);
  return () => moto.stop();
}
