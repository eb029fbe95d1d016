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
  // functions.cjs gives the klines function its fill function's name.
  FILL_FUNCTION_NAME: "bench-fill",
  LOG_LEVEL: "info",
};

export interface BundleFigures {
  /** A function of functions/, or "floor" (bench/floor.ts). */
  function: string;
  minifiedBytes: number;
  /** Median time to import the bundled handler in a fresh `node` process, not counting Node's own start. */
  coldImportMs: number;
}

/**
 * Bundles the floor (bench/floor.ts) and each functions/*.ts as serverless-esbuild would, then imports each bundle
 * `imports` times, cold, in turns (floor, every function, floor, ...), so a busy moment of the machine falls on all.
 */
export async function measureBundles(root: string, imports: number): Promise<BundleFigures[]> {
  const outdir = mkdtempSync(join(tmpdir(), "candle-cache-bundles-"));
  try {
    const entries = [
      { name: "floor", path: join(root, "bench", "floor.ts") },
      ...readdirSync(join(root, "functions"))
        .filter((file) => file.endsWith(".ts"))
        .map((file) => ({ name: basename(file, ".ts"), path: join(root, "functions", file) })),
    ];
    const bundles = [];
    for (const { name, path } of entries) {
      const outfile = join(outdir, `${name}.js`);
      await build({ ...LAMBDA_BUILD_OPTIONS, entryPoints: [path], outfile, logLevel: "error" });
      bundles.push({ name, outfile, times: [] as number[] });
    }
    for (let round = 0; round < imports; round++) {
      for (const bundle of bundles) bundle.times.push(coldImportMs(bundle.outfile));
    }
    return bundles.map(({ name, outfile, times }) => ({ function: name, minifiedBytes: statSync(outfile).size, coldImportMs: median(times) }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Imports `file` in a fresh node process with the Lambda environment; how long the import took. */
function coldImportMs(file: string): number {
  // The handler may log at import (the access mode): the time comes on a line of its own, last.
  const script =
    `const t=performance.now();require(${JSON.stringify(file)});` +
    "process.stdout.write('\\nimport_ms=' + (performance.now()-t))";
  const output = execFileSync(process.execPath, ["-e", script], {
    env: { PATH: process.env.PATH, ...LAMBDA_ENV },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return Number(/import_ms=([\d.]+)$/.exec(output)?.[1] ?? NaN);
}
