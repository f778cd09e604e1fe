import { type Logger, pino } from "pino";
import pinoPretty from "pino-pretty";

export type { Logger } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface LoggerOptions {
  level: LogLevel;
  /** json: one JSON object per line (default); pretty: human-readable, through pino-pretty. */
  format?: "json" | "pretty";
  /** Where lines go; stdout when absent. */
  destination?: NodeJS.WritableStream;
  /** Fields on every line, e.g. { node: moniker }. */
  base?: Record<string, unknown>;
}

/**
 * The process's root logger. Pretty output is formatted in-process (no worker
 * thread), synchronously, so lines written just before an exit are not lost.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.format === "pretty"
      ? pinoPretty({
          destination: options.destination ?? 1,
          sync: true,
          colorize: options.destination === undefined && process.stdout.isTTY === true,
          ignore: "pid,hostname,module",
          messageFormat: "{if module}[{module}] {end}{msg}",
          translateTime: "SYS:HH:MM:ss.l",
        })
      : (options.destination ?? pino.destination({ dest: 1, sync: true }));
  return pino({ level: options.level, base: { pid: process.pid, ...options.base } }, destination);
}

/** A logger for one module: every line carries {"module": name}. */
export function child(parent: Logger, module: string): Logger {
  return parent.child({ module });
}
