import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { loadConfig } from "../src/app/config.js";
import { ConfigError } from "../src/errors.js";
import { startMotoServer } from "./moto.js";
import { startRedisStack } from "./redis-server.js";
import { startLocalService } from "../src/local/serve.js";

const BUCKET = "candle-cache";
const CREDENTIALS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };

/**
 * `npm run stack`: the cloud shape on one machine. moto_server stands in for S3, a redis-server behind the
 * Upstash REST bridge for Upstash; the service runs against them with the s3 driver and the Upstash counters.
 * Ctrl-C stops all of it. Any other setting (PORT, CACHE_API_TOKEN, ...) comes from the environment as usual.
 */
async function main(): Promise<void> {
  const moto = await startMotoServer();
  const redis = await startRedisStack().catch(async (error: unknown) => {
    await moto.stop();
    throw error;
  });
  const stopBackends = () => Promise.all([redis.stop(), moto.stop()]);
  try {
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    Object.assign(process.env, CREDENTIALS);
    const config = loadConfig({
      ...process.env,
      STORAGE_DRIVER: "s3",
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: moto.endpoint,
      UPSTASH_REDIS_REST_URL: redis.upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: redis.upstashToken,
    });
    const service = await startLocalService(config);
    console.log(`candle-cache (stack) listening on ${service.url}`);
    console.log(`S3 (moto_server): ${moto.endpoint}, cache directory: ${service.where}`);
    console.log(`Upstash bridge: ${redis.upstashUrl} -> ${redis.redis.url}`);
    console.log(`UPSTASH_REDIS_REST_TOKEN=${redis.upstashToken}`);
    const stop = async () => {
      await service.stop();
      await stopBackends();
      process.exit(0);
    };
    process.once("SIGINT", () => void stop());
    process.once("SIGTERM", () => void stop());
  } catch (error) {
    await stopBackends();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
