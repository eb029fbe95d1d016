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
    let running = 0;
    let most = 0;
    const job = vi.fn(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      running--;
    });
    const schedule = runPeriodically("slow", 1000, job, log);
    await vi.advanceTimersByTimeAsync(6000);
    expect(most).toBe(1);
    // Runs start at 0, 3000 and 6000 ms; the ticks at 1000, 2000, 4000 and 5000 find one going.
    expect(job).toHaveBeenCalledTimes(3);
    expect(lines.filter((line) => line.event === "job_skipped")).toHaveLength(4);
    const stopped = schedule.stop();
    await vi.advanceTimersByTimeAsync(3000);
    await stopped;
    expect(job).toHaveBeenCalledTimes(3);
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
