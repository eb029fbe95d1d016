import { randomUUID } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import { createS3Store } from "../../src/storage/s3.js";
import type { ObjectStore } from "../../src/storage/types.js";

/** What moto_server and LocalStack accept (any values work, these are the conventional ones); MinIO wants its own. */
export const S3_TEST_CREDENTIALS = {
  accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? "test",
  secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? "test",
};
export const S3_TEST_REGION = "us-east-1";

export interface S3TestStore {
  /** The store under test: createS3Store on a fresh, empty bucket of the moto server. */
  store: ObjectStore;
  /** A raw SDK client on the same server, to look behind the store's back. */
  client: S3Client;
  /** The fresh bucket's name. */
  bucket: string;
  /** The moto server's URL (from the global setup). */
  endpoint: string;
}

/**
 * A fresh uniquely-named bucket on the moto server started by test/setup/moto.global.ts, and an S3 store on it.
 * Call it in a test or a beforeEach: `const { store } = await s3TestStore({ prefix: "cache" })`.
 */
export async function s3TestStore(options: { prefix?: string; timeoutMs?: number } = {}): Promise<S3TestStore> {
  const endpoint = inject("s3Endpoint");
  const client = new S3Client({
    endpoint,
    region: S3_TEST_REGION,
    credentials: S3_TEST_CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const bucket = `test-${randomUUID()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const store = createS3Store({
    bucket,
    prefix: options.prefix ?? "",
    endpoint,
    region: S3_TEST_REGION,
    credentials: S3_TEST_CREDENTIALS,
    timeoutMs: options.timeoutMs,
  });
  return { store, client, bucket, endpoint };
}
