import { AsyncLocalStorage } from "node:async_hooks";

/** Structured logs: one JSON object per line, with a level, a time and an event name. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFields = Record<string, unknown>;

export interface Log {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface LogOptions {
  /** Lowest level written; "silent" writes nothing. */
  level?: LogLevel;
  /** Where lines go; defaults to stdout (stderr for warn and error). */
  write?: (line: string, level: LogLevel) => void;
}

/** Fields added to every line written while a piece of work runs (a Lambda invocation's request id, cold start). */
const context = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` on every log line it writes, however deep the call that writes it. */
export function withLogFields<T>(fields: LogFields, work: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, work);
}

export function createLog(options: LogOptions = {}): Log {
  const threshold = RANK[options.level ?? "info"];
  const write =
    options.write ??
    ((line: string, level: LogLevel) => (RANK[level] >= RANK.warn ? process.stderr : process.stdout).write(line + "\n"));
  const at =
    (level: LogLevel) =>
    (event: string, fields: LogFields = {}): void => {
      if (RANK[level] < threshold) return;
      const line = { level, time: new Date().toISOString(), event, ...context.getStore(), ...fields };
      write(JSON.stringify(line, errorsAsText), level);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A log that drops everything: for tests and benchmarks. */
export const silentLog: Log = createLog({ level: "silent" });

function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}
