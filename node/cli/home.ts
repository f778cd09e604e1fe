import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Genesis, parseGenesis } from "../committee/index.ts";
import { type Config, type HomePaths, renderConfig } from "../config/index.ts";
import { type KeyPair, writeKeyFile } from "../crypto/index.ts";

/** Everything one node's home holds before it first starts. */
export interface HomeContents {
  paths: HomePaths;
  config: Config;
  /** Absent for an observer. */
  validatorKey?: KeyPair;
  nodeKey: KeyPair;
  /** The exact genesis.json text (identical across a testnet). */
  genesisJson: string;
}

/** Files and directories of a home that already exist. */
export function existingHomeEntries(paths: HomePaths): string[] {
  const entries = [paths.configFile, paths.validatorKeyFile, paths.nodeKeyFile, paths.genesisFile, paths.dataDir];
  return entries.filter((p): p is string => p !== undefined && existsSync(p));
}

/** Removes what a home holds (keys, config, genesis, data) before it is replaced. */
export function clearHome(paths: HomePaths): void {
  for (const entry of existingHomeEntries(paths)) rmSync(entry, { recursive: true, force: true });
}

export function genesisToJson(genesis: Genesis): string {
  return `${JSON.stringify(parseGenesis(genesis, "generated genesis"), null, 2)}\n`;
}

/**
 * Writes a home: key files first (mode 0600, never over an existing file),
 * then genesis, then config.toml last, so a home with a config file is
 * complete.
 */
export function writeHome(contents: HomeContents): void {
  const { paths } = contents;
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const place = (file: string) => mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (contents.validatorKey) {
    if (!paths.validatorKeyFile) throw new Error("a validator home needs node.validatorKeyFile");
    place(paths.validatorKeyFile);
    writeKeyFile(paths.validatorKeyFile, contents.validatorKey);
  }
  place(paths.nodeKeyFile);
  writeKeyFile(paths.nodeKeyFile, contents.nodeKey);
  place(paths.genesisFile);
  writeFileSync(paths.genesisFile, contents.genesisJson, { mode: 0o644 });
  writeFileSync(paths.configFile, renderConfig(contents.config), { mode: 0o644 });
}
