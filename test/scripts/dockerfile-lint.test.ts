import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { execForm, lintDockerfile, parseDockerfile, parseEnv, splitFlags } from "../../scripts/dockerfile-lint.ts";
import { REPO } from "./run.ts";

const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8");
const dockerignore = readFileSync(join(REPO, ".dockerignore"), "utf8");

/** Rules that fail; `ignore` null means no .dockerignore at all. */
function failing(text: string, ignore: string | null = dockerignore): string[] {
  return lintDockerfile({ dockerfile: text, dockerignore: ignore ?? undefined })
    .filter((r) => r.problems.length > 0)
    .map((r) => r.rule);
}

test("the repository's Dockerfile passes every rule (npm run lint:dockerfile exits 0)", () => {
  const results = lintDockerfile({ dockerfile, dockerignore });
  assert.deepEqual(
    results.filter((r) => r.problems.length > 0),
    [],
  );
  assert.ok(results.length >= 10);
  const cli = spawnSync(process.execPath, [join(REPO, "scripts", "dockerfile-lint.ts")], { encoding: "utf8" });
  assert.equal(cli.status, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /all \d+ rules pass/);
});

test("the parser joins continuations, drops comments and reads exec form, flags and ENV", () => {
  const ins = parseDockerfile('# c\nFROM x\nRUN a \\\n  && b\n\nENV A=1 \\\n    B="two words"\n');
  assert.deepEqual(
    ins.map((i) => [i.keyword, i.args, i.line]),
    [
      ["FROM", "x", 2],
      ["RUN", "a && b", 3],
      ["ENV", 'A=1 B="two words"', 6],
    ],
  );
  assert.deepEqual(parseEnv('A=1 B="two words"'), { A: "1", B: "two words" });
  assert.deepEqual(parseEnv("LEGACY some value"), { LEGACY: "some value" });
  assert.deepEqual(execForm('["node", "x"]'), ["node", "x"]);
  assert.equal(execForm("node x"), undefined);
  assert.deepEqual(splitFlags('--interval=10s --timeout=3s CMD ["x"]'), {
    flags: { interval: "10s", timeout: "3s" },
    rest: 'CMD ["x"]',
  });
});

test("each broken rule is reported by name", () => {
  const cases: [string, string, string][] = [
    ["base-image", "FROM node:24.21.0-slim", "FROM node:latest"],
    ["base-image", "FROM node:24.21.0-slim", "FROM node:24"],
    ["base-image", "FROM node:24.21.0-slim", "FROM node:22.1.0-slim"],
    ["prod-deps", "npm ci --omit=dev", "npm ci"],
    ["prod-deps", "npm ci --omit=dev --no-audit --no-fund && npm cache clean --force", "npm install --omit=dev"],
    ["non-root", "USER node", "USER root"],
    ["data-volume", 'VOLUME ["/data"]', 'VOLUME ["/tmp"]'],
    ["ports", "EXPOSE 26656 26657", "EXPOSE 26656"],
    ["api-host", "VALIDATOR_API_HOST=0.0.0.0", "VALIDATOR_API_HOST=127.0.0.1"],
    ["healthcheck", '"health"]', '"status"]'],
    ["healthcheck", "--interval=10s ", ""],
    ["entrypoint", 'CMD ["start"]', 'CMD ["status"]'],
    ["entrypoint", 'ENTRYPOINT ["node", "/app/node/main.ts"]', "ENTRYPOINT node /app/node/main.ts"],
    ["no-add", "COPY node/ ./node/", "ADD https://example.com/node.tgz ./node/"],
    ["no-secrets", "COPY node/ ./node/", "COPY . ."],
    ["no-secrets", "COPY config/ ./config/", "COPY config/ validator_key.json ./config/"],
    ["workdir", "WORKDIR /app", "WORKDIR app"],
  ];
  for (const [rule, from, to] of cases) {
    assert.ok(dockerfile.includes(from), `fixture text ${from} is in the Dockerfile`);
    const broken = dockerfile.replace(from, to);
    assert.ok(failing(broken).includes(rule), `${rule} fails after replacing ${from} with ${to}: ${failing(broken)}`);
  }
  assert.ok(failing(dockerfile, null).includes("no-secrets"), "a missing .dockerignore fails");
  assert.ok(
    failing(dockerfile, dockerignore.replace("**/validator_key.json\n", "")).includes("no-secrets"),
    "a .dockerignore that lets key files in fails",
  );
  assert.ok(failing(`${dockerfile}\nENV API_TOKEN=abc\n`).includes("no-secrets"));
  assert.ok(failing(dockerfile.replace("USER node\n", "")).includes("non-root"));
});
