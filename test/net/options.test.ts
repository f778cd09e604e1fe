import assert from "node:assert/strict";
import { test } from "node:test";
import { Committee } from "../../node/committee/index.ts";
import { createNetwork, resolveLimits } from "../../node/net/index.ts";
import { CHAIN_ID, Inbox, netCommittee, quietLogger } from "./fixtures.ts";

const c = netCommittee(4, 110);
const base = {
  committee: c.committee,
  listen: ["/ip4/127.0.0.1/tcp/0"],
  peers: [],
  logger: quietLogger,
  handlers: new Inbox(),
};

test("a node key that is not the one genesis lists for the validator is refused", async () => {
  await assert.rejects(
    createNetwork({ ...base, nodeKey: c.nodeKeys[1]!, validatorIndex: 0 }),
    /genesis lists .* for validator 0: wrong node_key file/,
  );
  await assert.rejects(createNetwork({ ...base, nodeKey: c.nodeKeys[0]!, validatorIndex: 7 }), /not in the committee/);
});

test("config that contradicts genesis or is malformed gets a clear error", async () => {
  const ok = { ...base, nodeKey: c.nodeKeys[0]!, validatorIndex: 0 };
  await assert.rejects(createNetwork({ ...ok, chainId: "other" }), /differs from genesis chain id/);
  await assert.rejects(createNetwork({ ...ok, peers: ["/ip4/127.0.0.1/tcp/1"] }), /lacks a \/p2p\/<peerId> suffix/);
  await assert.rejects(createNetwork({ ...ok, peers: ["not an address"] }), /invalid peer address/);
  const badGenesis = {
    ...c.genesis,
    validators: c.genesis.validators.map((v) => ({ ...v, peerId: `peer-${v.index}` })),
  };
  await assert.rejects(
    createNetwork({ ...ok, validatorIndex: null, committee: new Committee(badGenesis) }),
    /invalid peer id "peer-0"/,
  );
  assert.equal(CHAIN_ID, c.committee.chainId);
});

test("limits are validated", () => {
  assert.throws(() => resolveLimits({ maxSyncItems: 0 }), /maxSyncItems must be a positive integer/);
  assert.throws(() => resolveLimits({ maxConsensusMessageBytes: 64 * 1024 * 1024 }), /exceeds the protocol limit/);
  assert.throws(() => resolveLimits({ redialMinMs: 100, redialMaxMs: 10 }), /redialMaxMs/);
  assert.equal(resolveLimits({ maxSyncItems: 7 }).maxSyncItems, 7);
});
