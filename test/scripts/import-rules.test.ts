/**
 * The import rules of docs/ARCHITECTURE.md, checked over the source text:
 * no folder imports one above it, the machines stay pure, and neither node/
 * nor scripts/ imports test/.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const REPO = resolve(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (entry.endsWith(".ts")) out.push(path);
  }
  return out;
}

interface Import {
  file: string;
  spec: string;
  typeOnly: boolean;
}

/** Every static and dynamic import of a file (its specifier, and whether it is `import type`). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const out: Import[] = [];
  for (const m of text.matchAll(/^\s*(import|export)(\s+type)?\b[^;]*?\bfrom\s+"([^"]+)"/gms)) {
    out.push({ file, spec: m[3]!, typeOnly: m[2] !== undefined });
  }
  for (const m of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push({ file, spec: m[1]!, typeOnly: false });
  return out;
}

/** The node/ folder a path lies in, or null outside node/. */
function folderOf(path: string): string | null {
  const rel = relative(join(REPO, "node"), path).split(sep);
  return rel[0] === ".." || rel.length < 2 ? null : rel[0]!;
}

const MACHINES = new Set(["lanes", "consensus", "execution", "attestation"]);
const BASE = ["types", "crypto", "committee"];
/** Folders each folder may import (besides itself). Folders not listed may import anything but runtime and cli. */
const ALLOWED: Record<string, readonly string[]> = {
  types: [],
  config: [],
  observability: [],
  api: ["types", "config", "observability"],
  crypto: ["types"],
  committee: ["types", "crypto"],
  lanes: BASE,
  consensus: BASE,
  execution: BASE,
  attestation: BASE,
  storage: [...BASE, "observability"],
  net: [...BASE, "observability"],
};
/** Folders that must not reach I/O or the layers above the machines. */
const NOT_FROM_PROTOCOL = new Set(["storage", "net", "api", "runtime", "cli", "ha", "observability"]);
const PURE = ["lanes", "consensus", "execution", "attestation", "protocol"];

const nodeImports = sources(join(REPO, "node")).flatMap(importsOf);

test("scripts/ and node/ import nothing from test/", () => {
  const bad = [...nodeImports, ...sources(join(REPO, "scripts")).flatMap(importsOf)]
    .filter((i) => i.spec.startsWith("."))
    .filter((i) => relative(REPO, resolve(dirname(i.file), i.spec)).split(sep)[0] === "test")
    .map((i) => `${relative(REPO, i.file)} imports ${i.spec}`);
  assert.deepEqual(bad, []);
});

test("no node/ folder imports one above it; machines import each other's types only; others go through index.ts", () => {
  const bad: string[] = [];
  for (const i of nodeImports) {
    if (!i.spec.startsWith(".")) continue;
    const from = folderOf(i.file);
    const target = resolve(dirname(i.file), i.spec);
    const to = folderOf(target);
    if (from === null || to === null || from === to) continue;
    const where = `${relative(REPO, i.file)} imports ${i.spec}`;
    if (!target.endsWith(`${sep}index.ts`)) bad.push(`${where}: not the folder's index.ts`);
    const allowed = ALLOWED[from];
    if (from === "protocol") {
      if (NOT_FROM_PROTOCOL.has(to)) bad.push(`${where}: the pure core reaches I/O`);
      if (to === "config" && !i.typeOnly) bad.push(`${where}: protocol may take only the Config type`);
    } else if (allowed !== undefined) {
      const machineTypes = MACHINES.has(from) && MACHINES.has(to) && i.typeOnly;
      if (!allowed.includes(to) && !machineTypes) bad.push(`${where}: ${from} may import only ${allowed.join(", ")}`);
    } else if (to === "runtime" || to === "cli") {
      if (!(from === "cli" && to === "runtime")) bad.push(`${where}: upward import`);
    }
  }
  assert.deepEqual(bad, []);
});

test("the machines and the protocol are pure: no node: modules, no clock, no timers, no randomness", () => {
  const bad: string[] = [];
  for (const folder of PURE) {
    let files: string[] = [];
    try {
      files = sources(join(REPO, "node", folder));
    } catch {
      continue; // a folder another branch adds
    }
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const i of importsOf(file)) if (i.spec.startsWith("node:")) bad.push(`${relative(REPO, file)}: ${i.spec}`);
      for (const m of text.matchAll(
        /\b(Date\.now|setTimeout|setInterval|setImmediate|performance\.now|Math\.random)\b/g,
      ))
        bad.push(`${relative(REPO, file)}: ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});
