import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO } from "./run.ts";

const run = promisify(execFile);

/** Every script a person runs with options (devnet has its own test: devnet-cli.test.ts). */
const SCRIPTS = [
  "bench",
  "bench/cpu-profile",
  "bench-datapath",
  "bench-net",
  "bench-storage",
  "chaos",
  "dockerfile-lint",
  "failover",
  "load",
  "measure-catchup",
  "measure-catchup-direct",
  "measure-recovery",
  "soak",
  "verify-batch",
];

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

async function script(name: string, args: string[]): Promise<Exit> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO, "scripts", `${name}.ts`), ...args], {
      cwd: REPO,
      timeout: 60_000,
      encoding: "utf8",
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; killed?: boolean };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

test("every script: --help prints its usage and exits 0; an unknown option is a usage error (exit 2), not a stack trace", async () => {
  await eachLimited(SCRIPTS, 4, async (name) => {
    const help = await script(name, ["--help"]);
    assert.equal(help.code, 0, `${name} --help exited ${help.code}: ${help.stderr}`);
    assert.match(help.stdout, /^usage: /, `${name} --help printed no usage`);

    const bad = await script(name, ["--no-such-option"]);
    assert.equal(bad.code, 2, `${name} --no-such-option exited ${bad.code}: ${bad.stderr}`);
    assert.match(bad.stderr, /--no-such-option/, `${name}: the error does not name the option`);
    assert.match(bad.stderr, /usage: /, `${name}: no usage after the error`);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, `${name}: a stack trace for a usage error`);
  });
});

test("a bad option value is a usage error that names the option", async () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["bench-datapath", ["--txs", "lots"], /--txs lots: expected a positive number/],
    ["bench-storage", ["--runs", "0"], /--runs 0: expected a positive number/],
    ["soak", ["--node-env", "nonsense"], /--node-env nonsense: expected node:NAME=value/],
    ["bench-net", ["--modes", "carrier-pigeon"], /--modes: unknown mode carrier-pigeon/],
    ["measure-recovery", ["--runs", "many"], /--runs many: expected a positive integer/],
    ["measure-catchup", ["--target", "moon"], /--target moon: observer, validator or both/],
    ["measure-catchup-direct", [], /give --build FILE or --history FILE/],
    ["dockerfile-lint", ["/no/such/Dockerfile"], /no such file/],
    ["bench/cpu-profile", ["--top", "x", "a.cpuprofile"], /--top x: expected a positive integer/],
    ["bench/cpu-profile", ["--from", "5", "--to", "2", "a.cpuprofile"], /--to 2 must be after --from 5/],
    ["bench/cpu-profile", [], /give exactly one profile file/],
  ];
  await eachLimited(cases, 4, async ([name, args, message]) => {
    const res = await script(name, args);
    assert.equal(res.code, 2, `${name} ${args.join(" ")} exited ${res.code}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.match(res.stderr, /usage: /);
  });
});
