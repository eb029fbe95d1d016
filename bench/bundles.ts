import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { build, type BuildOptions } from "esbuild";
import { median } from "./stats.js";

/** serverless.yml's custom.esbuild block, as serverless-esbuild hands it to esbuild (keep the two in step). */
export const LAMBDA_BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  sourcemap: "external",
  target: "node24",
  platform: "node",
  mainFields: ["module", "main"],
  format: "cjs",
};

/** What the handlers read at import time on Lambda (serverless.yml's provider.environment, with stand-in values). */
const LAMBDA_ENV = {
  NODE_OPTIONS: "--enable-source-maps",
  STORAGE_DRIVER: "s3",
  S3_BUCKET: "bench-bucket",
  S3_PREFIX: "cache/data",
  AWS_REGION: "us-east-1",
  CACHE_API_TOKEN: "bench-token",
  LOG_LEVEL: "info",
};

export interface BundleFigures {
  function: string;
  minifiedBytes: number;
  /** Median time to import the bundled handler in a fresh `node` process, not counting Node's own start. */
  coldImportMs: number;
}

/** Bundles each functions/*.ts as serverless-esbuild would, then imports each bundle `imports` times, cold. */
export async function measureBundles(root: string, imports: number): Promise<BundleFigures[]> {
  const outdir = mkdtempSync(join(tmpdir(), "candle-cache-bundles-"));
  try {
    const entries = readdirSync(join(root, "functions")).filter((name) => name.endsWith(".ts"));
    const figures: BundleFigures[] = [];
    for (const entry of entries) {
      const name = basename(entry, ".ts");
      const outfile = join(outdir, `${name}.js`);
      const entryPoints = [join(root, "functions", entry)];
      await build({ ...LAMBDA_BUILD_OPTIONS, entryPoints, outfile, logLevel: "error" });
      const times = Array.from({ length: imports }, () => coldImportMs(outfile));
      figures.push({ function: name, minifiedBytes: statSync(outfile).size, coldImportMs: median(times) });
    }
    return figures;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Imports `file` in a fresh node process with the Lambda environment; how long the import took. */
function coldImportMs(file: string): number {
  const script =
    `const t=performance.now();require(${JSON.stringify(file)});` +
    "process.stdout.write(String(performance.now()-t))";
  const output = execFileSync(process.execPath, ["-e", script], {
    env: { PATH: process.env.PATH, ...LAMBDA_ENV },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return Number(output);
}
