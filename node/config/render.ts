import { stringify } from "smol-toml";
import type { Config } from "./schema.ts";

const HEADER = `# validator node configuration.
# Every key, its meaning and its default: config/default.toml in the validator
# source. Environment variables VALIDATOR_<SECTION>_<KEY> and command-line
# flags override this file. Relative paths are resolved against the home.
`;

/** config.toml text for a config; loading it gives back the same config. */
export function renderConfig(config: Config, header: string = HEADER): string {
  return `${header}\n${stringify(config)}`;
}
