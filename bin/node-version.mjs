// Plain JavaScript on purpose, loaded before any TypeScript: it must run on
// any Node.js to say which one this project needs (package.json "engines").
// Imported by bin/validator.mjs; run by `npm test` and `npm start` first.
const REQUIRED_MAJOR = 24;

const found = process.versions.node;
if (Number(found.split(".")[0]) < REQUIRED_MAJOR) {
  const line =
    `validator needs Node.js ${REQUIRED_MAJOR} or newer, but ${process.execPath} is Node.js ${process.version}; ` +
    `remedy: install Node.js ${REQUIRED_MAJOR} (https://nodejs.org/en/download, or \`nvm install ${REQUIRED_MAJOR}\`, ` +
    `or \`npx node@${REQUIRED_MAJOR}\`) and run the command with it`;
  process.stderr.write(`error: ${line}\n`);
  // `start` and `dev` also write the JSON log line of a start-up failure (same words).
  if (["start", "dev"].includes(process.argv[2] ?? ""))
    process.stdout.write(
      `${JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, module: "cli", exitCode: 1, nodeVersion: process.version, msg: `could not start: ${line}` })}\n`,
    );
  process.exit(1);
}
