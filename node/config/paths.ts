import { isAbsolute, join } from "node:path";
import { CONFIG_FILE_NAME } from "./loader.ts";
import type { Config } from "./schema.ts";

/** Absolute locations of a node's files; config paths are relative to the home. */
export interface HomePaths {
  home: string;
  configFile: string;
  /** undefined for an observer (node.validatorKeyFile is empty). */
  validatorKeyFile: string | undefined;
  nodeKeyFile: string;
  genesisFile: string;
  dataDir: string;
}

export function homePaths(home: string, config: Config): HomePaths {
  const at = (p: string) => (isAbsolute(p) ? p : join(home, p));
  return {
    home,
    configFile: join(home, CONFIG_FILE_NAME),
    validatorKeyFile: config.node.validatorKeyFile === "" ? undefined : at(config.node.validatorKeyFile),
    nodeKeyFile: at(config.node.nodeKeyFile),
    genesisFile: at(config.node.genesisFile),
    dataDir: at(config.storage.dataDir),
  };
}
