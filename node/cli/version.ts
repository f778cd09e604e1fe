import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { PROTOCOL_VERSION } from "../types/index.ts";

export interface VersionInfo {
  validator: string;
  node: string;
  protocol: number;
}

export function versionInfo(): VersionInfo {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return { validator: pkg.version, node: process.version, protocol: PROTOCOL_VERSION };
}

export function versionText(): string {
  const v = versionInfo();
  return `validator ${v.validator}\nnode ${v.node}\nprotocol ${v.protocol}`;
}

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description("show the validator version, the Node.js version and the chain protocol version")
    .option("--json", "print one JSON object")
    .action((opts: { json?: boolean }) => {
      console.log(opts.json ? JSON.stringify(versionInfo()) : versionText());
    });
}
