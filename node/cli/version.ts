import { readFileSync } from "node:fs";
import type { Command } from "commander";

export interface VersionInfo {
  validator: string;
  node: string;
  protocol: number;
}

export async function versionInfo(): Promise<VersionInfo> {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  const { PROTOCOL_VERSION } = await import("../types/index.ts");
  return { validator: pkg.version, node: process.version, protocol: PROTOCOL_VERSION };
}

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description("show the validator version, the Node.js version and the chain protocol version")
    .option("--json", "print one JSON object")
    .action(async (opts: { json?: boolean }) => {
      const v = await versionInfo();
      console.log(opts.json ? JSON.stringify(v) : `validator ${v.validator}\nnode ${v.node}\nprotocol ${v.protocol}`);
    });
}
