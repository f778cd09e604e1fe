// Plain JavaScript on purpose, loaded before any TypeScript: it must run on
// any Node.js to say which one this project needs (package.json "engines").
// Imported by bin/validator.mjs; run first by `npm test`, `npm start` and `npm pack`.
export const REQUIRED_MAJOR = 24;

/** The one line an operator reads when `version` (e.g. "20.11.1") is too old, or null. */
export function nodeVersionProblem(version, execPath) {
  if (Number(version.split(".")[0]) >= REQUIRED_MAJOR) return null;
  return (
    `validator needs Node.js ${REQUIRED_MAJOR} or newer, but ${execPath} is Node.js v${version}; ` +
    `remedy: install Node.js ${REQUIRED_MAJOR} (https://nodejs.org/en/download, or \`nvm install ${REQUIRED_MAJOR}\`, ` +
    `or \`npx node@${REQUIRED_MAJOR}\`) and run the command with it`
  );
}

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem !== null) {
  process.stderr.write(`error: ${problem}\n`);
  // `start` and `dev` also write the JSON log line of a start-up failure (same words).
  if (["start", "dev"].includes(process.argv[2] ?? "")) {
    const line = {
      level: 60,
      time: Date.now(),
      pid: process.pid,
      module: "cli",
      exitCode: 1,
      msg: `could not start: ${problem}`,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  process.exit(1);
}
