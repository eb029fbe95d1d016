import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";

/**
 * The floor of a Lambda bundle, measured beside the functions with the same esbuild settings: a Hono handler that
 * only streams one S3 GetObject. What the get function adds to it is the cost of the service.
 */
const s3 = new S3Client({});
const app = new Hono();
app.get("/object", async (c) => {
  const object = await s3.send(new GetObjectCommand({ Bucket: process.env.S3_BUCKET, Key: "object.csv" }));
  return c.body(object.Body?.transformToWebStream() as ReadableStream<Uint8Array>);
});

export const handler = handle(app);
