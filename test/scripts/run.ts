import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const DEVNET = join(REPO, "scripts", "devnet.ts");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node scripts/devnet.ts --dir <dir> ...args` and returns its output. */
export function devnet(dir: string, args: readonly string[], timeoutMs = 120_000): RunResult {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("VALIDATOR_") && k !== "DEVNET_DIR") env[k] = v;
  }
  const res = spawnSync(process.execPath, [DEVNET, "--dir", dir, ...args], {
    cwd: REPO,
    env,
    encoding: "utf8",
    timeout: timeoutMs,
  });
  if (res.error) throw res.error;
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Like devnet(), but fails with the command's output when it does not exit 0. */
export function devnetOk(dir: string, args: readonly string[], timeoutMs?: number): string {
  const res = devnet(dir, args, timeoutMs);
  if (res.code !== 0) {
    throw new Error(`devnet ${args.join(" ")} exited ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  }
  return res.stdout;
}
