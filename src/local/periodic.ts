import type { Log } from "../log.js";

/**
 * Runs `job` now and then every `intervalMs`, never two at once: a tick that finds the previous run still going
 * is skipped. A failing run is logged; the schedule goes on. `stop()` ends the schedule and waits for a run.
 */
export function runPeriodically(name: string, intervalMs: number, job: () => Promise<unknown>, log: Log) {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) {
      log.warn("job_skipped", { job: name, reason: "previous run still going" });
      return;
    }
    running = job()
      .then(
        () => undefined,
        (error: unknown) => log.error("job_failed", { job: name, error }),
      )
      .finally(() => {
        running = null;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    /** Resolves when the current run, if any, is over. */
    idle: () => running ?? Promise.resolve(),
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
