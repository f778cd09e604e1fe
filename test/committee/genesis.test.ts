import assert from "node:assert/strict";
import { test } from "node:test";
import { Committee, DEFAULT_PARAMS, parseGenesis, parseGenesisJson } from "../../node/committee/index.ts";
import { toHex } from "../../node/types/index.ts";
import { testCommittee } from "../fixtures/committee.ts";

// biome-ignore lint/suspicious/noExplicitAny: test inputs are deliberately malformed JSON
type Json = any;
const base = (): Json => JSON.parse(JSON.stringify(testCommittee(4).genesis));

/** Parses a mutated genesis and returns the error's problem lines. */
function problems(mutate: (g: Json) => void): string[] {
  const g = base();
  mutate(g);
  try {
    parseGenesis(g);
  } catch (err) {
    const [head, ...lines] = (err as Error).message.split("\n");
    assert.equal(head, "invalid genesis:");
    return lines.map((l) => l.trim());
  }
  assert.fail("genesis was accepted");
}

test("a valid genesis parses and builds the committee", () => {
  const g = parseGenesis(base());
  const c = new Committee(g);
  assert.equal(c.chainId, "testchain");
  assert.equal(c.size, 4);
  assert.deepEqual(c.params, DEFAULT_PARAMS);
});

test("defaults: params, weight and attester weight may be omitted", () => {
  const g = base();
  delete g.params;
  for (const v of g.validators) {
    delete v.weight;
    delete v.attesterWeight;
  }
  const parsed = parseGenesis(g);
  // A genesis without params gets every default except the app-vote
  // checkpoint, which stays absent (every index) so that its hash is what it was.
  const { appVoteEveryIndexes, ...rest } = DEFAULT_PARAMS;
  assert.deepEqual(parsed.params, rest);
  assert.equal(appVoteEveryIndexes, 8, "a new genesis votes on the app hash every 8 indexes");
  assert.ok(parsed.validators.every((v) => v.weight === 1 && v.attesterWeight === 1));
});

test("app-vote checkpoints: every Nth index from genesis, every index when the param is absent", () => {
  const every8 = testCommittee(4, { params: { appVoteEveryIndexes: 8 } }).committee;
  assert.deepEqual(
    [0, 1, 7, 8, 9, 16, 24].map((k) => every8.appVotesAt(k)),
    [false, false, false, true, false, true, true],
  );
  const g = base();
  delete g.params.appVoteEveryIndexes;
  const old = new Committee(parseGenesis(g));
  assert.deepEqual(
    [0, 1, 2, 3].map((k) => old.appVotesAt(k)),
    [false, true, true, true],
  );
  // Written before the param existed, a genesis hashes as it did: the field is
  // not filled in. The hash below is what the code before the param computed
  // for this genesis (1f9cbda).
  assert.equal("appVoteEveryIndexes" in old.params, false);
  assert.equal(toHex(old.genesisHash), "87cc2912d41a665e74661658b648096ef12519df20aaa80c7a6cda7a227eb896");
  for (const bad of [0, 65]) {
    assert.deepEqual(
      problems((x) => {
        x.params.appVoteEveryIndexes = bad;
      }).length,
      1,
      `appVoteEveryIndexes = ${bad}`,
    );
  }
});

test("duplicate public key, peer id or name names the later validator", () => {
  assert.deepEqual(
    problems((g) => {
      g.validators[2].publicKey = g.validators[0].publicKey;
    }),
    ["validators.2.publicKey: duplicate public key"],
  );
  assert.deepEqual(
    problems((g) => {
      g.validators[3].peerId = g.validators[1].peerId;
    }),
    ["validators.3.peerId: duplicate peer id"],
  );
  assert.deepEqual(
    problems((g) => {
      g.validators[1].name = g.validators[0].name;
    }),
    ["validators.1.name: duplicate name"],
  );
});

test("validators out of index order are named", () => {
  assert.deepEqual(
    problems((g) => {
      g.validators[1].index = 2;
    }),
    ["validators.1.index: must be 1: validators are listed in index order"],
  );
  assert.deepEqual(
    problems((g) => {
      [g.validators[0], g.validators[1]] = [g.validators[1], g.validators[0]];
    }),
    [
      "validators.0.index: must be 0: validators are listed in index order",
      "validators.1.index: must be 1: validators are listed in index order",
    ],
  );
});

test("a bad chain id is named", () => {
  for (const chainId of ["Bad Chain", "", "-x", "x".repeat(65), 7]) {
    const lines = problems((g) => {
      g.chainId = chainId;
    });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^chainId: /);
  }
});

test("bad hex in a public key is named", () => {
  for (const publicKey of ["zz".repeat(32), "ab", toHex(new Uint8Array(33)), "AB".repeat(32), `0x${"ab".repeat(32)}`]) {
    assert.deepEqual(
      problems((g) => {
        g.validators[0].publicKey = publicKey;
      }),
      ["validators.0.publicKey: 32 bytes of lowercase hex"],
    );
  }
});

test("unknown fields are named, at every level", () => {
  assert.deepEqual(
    problems((g) => {
      g.foo = 1;
    }),
    ['(root): Unrecognized key: "foo"'],
  );
  assert.deepEqual(
    problems((g) => {
      g.validators[1].stake = 5;
    }),
    ['validators.1: Unrecognized key: "stake"'],
  );
  assert.deepEqual(
    problems((g) => {
      g.params.blockTimeMs = 5;
    }),
    ['params: Unrecognized key: "blockTimeMs"'],
  );
});

test("missing or empty validators are named", () => {
  const missing = problems((g) => {
    delete g.validators;
  });
  assert.equal(missing.length, 1);
  assert.match(missing[0]!, /^validators: .*expected array/);
  const empty = problems((g) => {
    g.validators = [];
  });
  assert.equal(empty.length, 1);
  assert.match(empty[0]!, /^validators: Too small/);
});

test("out-of-range numbers are named", () => {
  const lines = problems((g) => {
    g.validators[0].weight = 0;
    g.params.maxBlocksPerLane = 100_000;
    g.genesisTimeMs = -1;
  });
  assert.equal(lines.length, 3);
  assert.ok(lines.some((l) => l.startsWith("validators.0.weight: ")));
  assert.ok(lines.some((l) => l.startsWith("params.maxBlocksPerLane: ")));
  assert.ok(lines.some((l) => l.startsWith("genesisTimeMs: ")));
});

test("every problem is listed, not only the first", () => {
  const lines = problems((g) => {
    g.chainId = "BAD";
    g.validators[2].publicKey = "nothex";
    g.validators[3].index = 9;
  });
  assert.equal(lines.length, 3);
});

test("parseGenesisJson reports bad JSON and names its source", () => {
  assert.throws(() => parseGenesisJson("{ nope", "net/genesis.json"), /^Error: net\/genesis.json is not valid JSON: /);
  assert.throws(() => parseGenesisJson("{}", "net/genesis.json"), /^Error: invalid net\/genesis.json:\n {2}chainId: /);
  const g = parseGenesisJson(JSON.stringify(base()));
  assert.equal(g.validators.length, 4);
});
