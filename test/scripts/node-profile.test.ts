import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApiBackend, buildApi } from "../../node/api/index.ts";
import { loadConfig, MAX_CPU_PROFILE_SECONDS, parseSetFlags } from "../../node/config/index.ts";
import { fetchCpuProfile, profilingSets } from "../../scripts/bench/node-profile.ts";
import { apiOptions } from "../api/options.ts";
import { REPO } from "./run.ts";

async function api(cpuProfileMaxSeconds: number) {
  const app = buildApi({} as ApiBackend, apiOptions({}, { cpuProfileMaxSeconds }));
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, url };
}

test("--profile's overrides turn the route on and pass the config schema; without --profile there are none", () => {
  assert.deepEqual(profilingSets(false), []);
  const sets = profilingSets(true);
  const config = loadConfig({ home: REPO, file: null, env: {}, overrides: parseSetFlags(sets) });
  assert.equal(config.api.cpuProfileMaxSeconds, MAX_CPU_PROFILE_SECONDS);
  // The user's --set comes after the bench's, and wins.
  const off = loadConfig({
    home: REPO,
    file: null,
    env: {},
    overrides: parseSetFlags([...sets, "api.cpuProfileMaxSeconds=0"]),
  });
  assert.equal(off.api.cpuProfileMaxSeconds, 0);
});

test("the bench fetches a profile of a running node over HTTP, and names the status when it cannot", async () => {
  const on = await api(5);
  try {
    const profile = JSON.parse(await fetchCpuProfile(on.url, 1));
    assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0);
    // An idle second is still sampled (as "(idle)").
    assert.ok(Array.isArray(profile.samples) && profile.samples.length > 0);
  } finally {
    await on.app.close();
  }
  const off = await api(0);
  try {
    await assert.rejects(fetchCpuProfile(off.url, 1), /cpu-profile\?seconds=1: 404 .*api\.cpuProfileMaxSeconds/);
  } finally {
    await off.app.close();
  }
});
