#!/usr/bin/env node
// The `toil` command. The TypeScript sources are compiled to dist/ by `npm ci` (prepare) or `npm run build`.

// A shell left in a directory since deleted: every module that asks for the cwd at load would
// crash with a bare ENOENT stack, so it is said in one line before anything loads.
try {
  process.cwd();
} catch {
  process.stderr.write(
    'toil: the current directory no longer exists (deleted or moved): cd to one that does\n',
  );
  process.exit(2);
}
const { main, exitIfAsked } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
// A command that left the user's code running (a workflow's start() a stop abandoned) exits now.
await exitIfAsked(process.exitCode);
