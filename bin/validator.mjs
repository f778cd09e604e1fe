#!/usr/bin/env node
// The `validator` binary. Plain JavaScript, so that an old Node.js gets a
// clear message (node-version.mjs) instead of a stack trace about ".ts".
//
// In the repository it runs the TypeScript sources (Node 24 strips the
// types). An installed package has no sources: Node refuses to strip types
// under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so
// `npm pack` ships JavaScript that tsc emitted into dist/ (scripts/build-package.ts).
import "./node-version.mjs";
import { existsSync } from "node:fs";

const source = new URL("../node/main.ts", import.meta.url);
await import(existsSync(source) ? source.href : new URL("../dist/node/main.js", import.meta.url).href);
