#!/usr/bin/env node
/** The `validator` binary: parses the command line and dispatches to node/cli. */
import { runCli } from "./cli/index.ts";

process.exitCode = await runCli(process.argv);
