import { describe, expect, it, vi } from "vitest";
import { runPeriodically } from "../../src/local/periodic.js";
import { createLog } from "../../src/log.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLog({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

describe("runPeriodically", () => {
  it("runs at once and then on every interval", async () => {
    vi.useFakeTimers();
    const job = vi.fn(async () => {});
    const schedule = runPeriodically("job", 1000, job, capture().log);
    expect(job).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(job).toHaveBeenCalledTimes(4);
    await schedule.stop();
    await vi.advanceTimersByTimeAsync(3000);
    expect(job).toHaveBeenCalledTimes(4);
    vi.useRealTimers();
  });

  it("never runs two at once: a tick during a run is skipped and said", async () => {
    vi.useFakeTimers();
    const { lines, log } = capture();
    const skipped = () => lines.filter((line) => line.event === "job_skipped");
    let running = 0;
    let most = 0;
    // Each run lasts until the test ends it, so what a tick finds is the test's doing, not a guess at durations.
    const endRun: (() => void)[] = [];
    const job = vi.fn(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => endRun.push(resolve));
      running--;
    });
    const schedule = runPeriodically("slow", 1000, job, log);
    expect(job).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2000);
    // The ticks at 1000 and 2000 ms find the first run going.
    expect(job).toHaveBeenCalledTimes(1);
    expect(skipped()).toHaveLength(2);
    endRun.shift()?.();
    await schedule.idle();
    await vi.advanceTimersByTimeAsync(1000);
    // The tick at 3000 ms finds none going and starts the second.
    expect(job).toHaveBeenCalledTimes(2);
    const stopped = schedule.stop();
    endRun.shift()?.();
    await stopped;
    await vi.advanceTimersByTimeAsync(3000);
    expect(job).toHaveBeenCalledTimes(2);
    expect(skipped()).toHaveLength(2);
    expect(most).toBe(1);
    vi.useRealTimers();
  });

  it("logs a failing run and keeps the schedule", async () => {
    vi.useFakeTimers();
    const { lines, log } = capture();
    const job = vi.fn(async () => {
      throw new Error("binance unreachable");
    });
    const schedule = runPeriodically("warmup", 1000, job, log);
    await vi.advanceTimersByTimeAsync(2000);
    expect(job).toHaveBeenCalledTimes(3);
    expect(lines.filter((line) => line.event === "job_failed")).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: "error", job: "warmup", error: "Error: binance unreachable" });
    await schedule.stop();
    vi.useRealTimers();
  });
});
