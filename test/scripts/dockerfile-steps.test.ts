/**
 * The Dockerfile's steps, outside Docker (there is no Docker engine here):
 * copy what its COPY lines copy into a temp dir, run its `npm ci --omit=dev`
 * there (offline from the npm cache when possible), set its ENV, run its
 * ENTRYPOINT with `init` and then with its CMD (`start`), and run its
 * HEALTHCHECK command until it passes. Two deviations, both for the test
 * machine: the API and p2p bind 127.0.0.1 on free ports instead of 0.0.0.0,
 * and the image's /app and /data are temp dirs.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePorts } from "../../scripts/cluster/index.ts";
import { execForm, parseDockerfile, parseEnv, splitFlags } from "../../scripts/dockerfile-lint.ts";
import { REPO } from "./run.ts";

const root = mkdtempSync(join(tmpdir(), "dockerfile-steps-"));
let node: ChildProcess | undefined;

after(() => {
  if (node && node.exitCode === null) node.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

test("the Dockerfile's steps work outside Docker: production install, init, start, health check", async () => {
  const ins = parseDockerfile(readFileSync(join(REPO, "Dockerfile"), "utf8"));
  const workdir = ins.findLast((i) => i.keyword === "WORKDIR")!.args.trim();
  const app = join(root, "app");
  const data = join(root, "data");
  mkdirSync(app);
  mkdirSync(data);
  /** A path inside the image, mapped to the temp dirs. */
  const mapPath = (p: string) => p.replace(new RegExp(`^${workdir}(?=/|$)`), app);

  // COPY <src>... <dest>, in order; RUN npm ci where the Dockerfile runs it.
  for (const i of ins) {
    if (i.keyword === "COPY") {
      const parts = splitFlags(i.args).rest.split(/\s+/);
      const dest = parts.pop()!;
      for (const src of parts) {
        const target = dest.endsWith("/") && !src.endsWith("/") ? join(app, dest, src) : join(app, dest);
        cpSync(join(REPO, src), target, { recursive: true });
      }
    }
    if (i.keyword === "RUN" && /\bnpm ci\b/.test(i.args)) {
      const ci = i.args
        .split("&&")
        .map((s) => s.trim())
        .find((s) => s.startsWith("npm ci"))!;
      const args = [...ci.split(/\s+/).slice(1), "--prefer-offline"];
      const res = spawnSync("npm", args, { cwd: app, encoding: "utf8", timeout: 120_000 });
      assert.equal(res.status, 0, `npm ${args.join(" ")}: ${res.stderr}`);
    }
  }
  assert.ok(existsSync(join(app, "node_modules", "libp2p")), "production dependencies are installed");
  assert.ok(existsSync(join(app, "node_modules", "level")));
  assert.ok(!existsSync(join(app, "node_modules", "typescript")), "no dev dependencies");
  assert.ok(!existsSync(join(app, "node_modules", "@biomejs")), "no dev dependencies");
  assert.ok(!existsSync(join(app, "test")) && !existsSync(join(app, "scripts")), "only what the Dockerfile copies");

  // ENV of the image, with the test machine's deviations.
  const imageEnv: Record<string, string> = Object.assign(
    {},
    ...ins.filter((i) => i.keyword === "ENV").map((i) => parseEnv(i.args)),
  );
  assert.equal(imageEnv.VALIDATOR_API_HOST, "0.0.0.0");
  const [apiPort, p2pPort] = await freePorts(2);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: root,
    ...imageEnv,
    VALIDATOR_HOME: data,
    VALIDATOR_API_HOST: "127.0.0.1",
    VALIDATOR_API_PORT: String(apiPort),
    VALIDATOR_P2P_LISTEN: `/ip4/127.0.0.1/tcp/${p2pPort}`,
  };
  const argvOf = (kw: string) => execForm(ins.findLast((i) => i.keyword === kw)!.args)!;
  const resolveArgv = (argv: string[]) => argv.map((a, i) => (i === 0 && a === "node" ? process.execPath : mapPath(a)));
  const entrypoint = resolveArgv(argvOf("ENTRYPOINT"));

  // `docker run ... init`: the one-time home in the data volume.
  const init = spawnSync(entrypoint[0]!, [...entrypoint.slice(1), "init"], { cwd: app, env, encoding: "utf8" });
  assert.equal(init.status, 0, init.stderr);
  assert.ok(existsSync(join(data, "config.toml")) && existsSync(join(data, "genesis.json")));

  // `docker run ...`: ENTRYPOINT + CMD.
  const cmd = argvOf("CMD");
  assert.deepEqual(cmd, ["start"]);
  let log = "";
  node = spawn(entrypoint[0]!, [...entrypoint.slice(1), ...cmd], { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
  node.stdout!.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  node.stderr!.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });

  // HEALTHCHECK CMD, run the way Docker runs it, until it passes.
  const hc = ins.findLast((i) => i.keyword === "HEALTHCHECK")!;
  const check = resolveArgv(execForm(splitFlags(hc.args).rest.replace(/^CMD\s+/i, ""))!);
  const deadline = Date.now() + 45_000;
  let healthy = false;
  while (!healthy) {
    assert.equal(node.exitCode, null, `the node exited early:\n${log}`);
    assert.ok(Date.now() < deadline, `the health check never passed:\n${log}`);
    const res = spawnSync(check[0]!, check.slice(1), { env, encoding: "utf8", timeout: 10_000 });
    healthy = res.status === 0;
    if (!healthy) await new Promise((r) => setTimeout(r, 300));
  }
  const status = (await (await fetch(`http://127.0.0.1:${apiPort}/status`)).json()) as { validatorIndex: number };
  assert.equal(status.validatorIndex, 0);

  // docker stop: SIGTERM, exit 0.
  const exited = new Promise<number | null>((resolve) => node!.once("exit", (code) => resolve(code)));
  node.kill("SIGTERM");
  assert.equal(await exited, 0, log);
});
