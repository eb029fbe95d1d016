import { loadConfig } from "../app/config.js";
import { ConfigError } from "../errors.js";
import { startLocalService } from "./serve.js";

/** `npm start`: the whole service on one local HTTP server; the fs driver and memory counters unless configured. */
async function main(): Promise<void> {
  const service = await startLocalService(loadConfig());
  console.log(`candle-cache listening on ${service.url}`);
  console.log(`cache directory: ${service.where}`);
  const stop = () => service.stop().then(() => process.exit(0));
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
