/** Logging (pino) and metrics (prom-client). */
export { child, createLogger, type Logger, type LoggerOptions, type LogLevel } from "./logger.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
export {
  asOperatorFacing,
  formatOperatorLine,
  type OperatorFacing,
  StartupError,
} from "./startup-error.ts";
export { WARN_BURST, WARN_WINDOW_MS, WarnLimiter } from "./warn-limiter.ts";
