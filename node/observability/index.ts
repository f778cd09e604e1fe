/** Logging (pino). Metrics and the status line come with the runtime. */
export { child, createLogger, type Logger, type LoggerOptions, type LogLevel } from "./logger.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
