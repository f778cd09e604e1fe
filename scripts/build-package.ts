/**
 * `npm pack` runs this first (the "prepack" script): it emits the node's
 * JavaScript into dist/ with tsc, so that an installed package runs without
 * type stripping (Node refuses it under node_modules:
 * ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING). The layout mirrors the
 * repository's, so paths relative to a module still resolve:
 *
 *   dist/node/**.js          from node/**.ts (imports rewritten to .js)
 *   dist/config/default.toml the shipped defaults (node/config/loader.ts)
 *   dist/package.json        version and "type": "module" (node/cli/version.ts)
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const dist = join(root, "dist");

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) {
  process.stderr.write("build-package: tsc failed\n");
  process.exit(1);
}
mkdirSync(join(dist, "config"), { recursive: true });
cpSync(join(root, "config/default.toml"), join(dist, "config/default.toml"));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string };
writeFileSync(
  join(dist, "package.json"),
  `${JSON.stringify({ name: `${pkg.name}-dist`, version: pkg.version, private: true, type: "module" }, null, 2)}\n`,
);
process.stdout.write(`build-package: dist/ ready (validator ${pkg.version})\n`);
