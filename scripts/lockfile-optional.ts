/**
 * Keeps package-lock.json installable with `npm ci` on a registry mirror that
 * lacks some platform-specific optional packages (here: Biome's non-linux
 * binaries). `npm install` leaves such packages out of the lockfile, and
 * `npm ci` then refuses the lockfile as out of sync. This adds an entry for
 * every missing optional dependency at the version its parent pins; `npm ci`
 * skips optional packages it cannot fetch or that do not fit the platform.
 *
 * Run after any `npm install` that changes the lockfile:
 *   node scripts/lockfile-optional.ts
 */
import { readFileSync, writeFileSync } from "node:fs";

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
}

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8")) as { packages: Record<string, LockEntry> };
const added: string[] = [];
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] !== undefined) continue;
    lock.packages[key] = { version, ...(entry.dev ? { dev: true } : {}), optional: true };
    added.push(`${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(added.length ? `added ${added.join(", ")}\n` : "lockfile already complete\n");
