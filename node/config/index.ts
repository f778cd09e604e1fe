/** config.toml: schema, shipped defaults, loading (defaults < file < env < flags), rendering. */
export { ConfigError, type ConfigIssue, type ConfigSource, formatIssue } from "./errors.ts";
export type { HeapGrowingRun } from "./heap-growing.ts";
export { NON_CONFIG_ENV_VARS, type Override, parseSetFlags } from "./layers.ts";
export { CONFIG_FILE_NAME, DEFAULTS_FILE, defaultConfig, type LoadConfigOptions, loadConfig } from "./loader.ts";
export type { MallocRun, MallocSource } from "./malloc-threshold.ts";
export { type HomePaths, homePaths } from "./paths.ts";
export { renderConfig } from "./render.ts";
export {
  CONFIG_KEYS,
  type Config,
  ConfigSchema,
  type KeyInfo,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  MAX_CPU_PROFILE_SECONDS,
  SECTIONS,
  type SectionName,
} from "./schema.ts";
export {
  type ProcessFacts,
  processFacts,
  REEXEC_MARK_ENV,
  type StartPlan,
  type StartTuning,
  startPlan,
} from "./start-plan.ts";
export type { SemiSpaceRun } from "./young-generation.ts";
