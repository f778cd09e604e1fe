import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { parseGenesisJson } from "../committee/index.ts";
import { CONFIG_FILE_NAME, homePaths, loadConfig, type Override, parseSetFlags } from "../config/index.ts";
import { generateKeyPair, peerIdOf, readKeyFile } from "../crypto/index.ts";
import { CliError } from "./errors.ts";
import { existingHomeEntries, writeHome } from "./home.ts";
import type { StandbyOptions } from "./standby.ts";

/** Port offset of a standby's default ports from its source's. */
const STANDBY_PORT_OFFSET = 1000;

/** `validator standby --from HOME --out DIR`: a standby instance's home (DESIGN section 14). */
export function standby(opts: StandbyOptions): void {
  const from = resolve(opts.from);
  const out = resolve(opts.out);
  const sourceFile = resolve(from, CONFIG_FILE_NAME);
  if (!existsSync(sourceFile)) throw new CliError(`no node home at ${from} (no ${CONFIG_FILE_NAME})`);
  const source = loadConfig({ home: from, file: sourceFile });
  const sourcePaths = homePaths(from, source);
  if (!sourcePaths.validatorKeyFile || !existsSync(sourcePaths.validatorKeyFile)) {
    throw new CliError(`${from} is not a validator home (no validator key): only a validator has a standby`);
  }
  const validatorKey = readKeyFile(sourcePaths.validatorKeyFile);
  const genesisJson = readFileSync(sourcePaths.genesisFile, "utf8");
  const genesis = parseGenesisJson(genesisJson, sourcePaths.genesisFile);

  const listen = source.p2p.listen.map((a) => shiftPort(a, opts.p2pPort));
  const apiPort = opts.apiPort ?? (source.api.port === 0 ? 0 : Math.min(65_535, source.api.port + STANDBY_PORT_OFFSET));
  const redisUrls = opts.redis ?? [...source.ha.redisUrls];
  const overrides: Override[] = [
    { key: "node.moniker", value: `${source.node.moniker}-standby`.slice(0, 64), source: "standby" },
    { key: "p2p.listen", value: listen.join(","), source: "standby" },
    { key: "p2p.peers", value: source.p2p.peers.join(","), source: "standby" },
    { key: "api.port", value: String(apiPort), source: "standby" },
    { key: "ha.enabled", value: "true", source: "standby" },
    { key: "ha.redisUrls", value: redisUrls.join(","), source: "--redis" },
    ...parseSetFlags(opts.set ?? []),
  ];
  // Every other setting as the source has it: its file, then the standby's changes.
  const config = loadConfig({ home: out, file: sourceFile, overrides });
  const paths = homePaths(out, config);
  const existing = existingHomeEntries(paths);
  if (existing.length > 0)
    throw new CliError(`${out} already holds a node (${existing.join(", ")}); choose another --out`);

  const nodeKey = generateKeyPair();
  writeHome({ paths, config, validatorKey, nodeKey, genesisJson });
  const index = genesis.validators.findIndex(
    (v) => v.publicKey === Buffer.from(validatorKey.publicKey).toString("hex"),
  );
  console.log(`created a standby home in ${out}`);
  console.log(`  validator:  ${index} (${genesis.validators[index]?.name ?? "?"}), same key as ${from}`);
  console.log(`  peer id:    ${peerIdOf(nodeKey.publicKey)} (its own node key)`);
  console.log(`  p2p listen: ${listen.join(", ")}`);
  console.log(`  api port:   ${apiPort}`);
  console.log(`  redis:      ${redisUrls.join(", ")}`);
  if (!source.ha.enabled) {
    console.log(
      `note: ${from} runs without [ha]; start it with ha.enabled = true and the same ha.redisUrls ` +
        `(e.g. --set ha.enabled=true --set ha.redisUrls=${redisUrls.join(",")}), or both instances will sign.`,
    );
  }
}

function shiftPort(addr: string, port: number | undefined): string {
  const parts = multiaddr(addr).getComponents();
  const tcp = parts.find((c) => c.name === "tcp");
  if (tcp?.value === undefined) return addr;
  const next = port ?? Math.min(65_535, Number(tcp.value) + STANDBY_PORT_OFFSET);
  return addr.replace(`/tcp/${tcp.value}`, `/tcp/${next}`);
}
