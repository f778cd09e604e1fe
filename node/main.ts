#!/usr/bin/env node
/** The `validator` binary: parses the command line and dispatches to node/cli. */
import { enableCompileCache } from "node:module";

// Reuse compiled code across runs (Node's on-disk cache in the OS temp dir): the CLI starts about twice as fast.
enableCompileCache();
const { runCli } = await import("./cli/index.ts");
process.exitCode = await runCli(process.argv);
