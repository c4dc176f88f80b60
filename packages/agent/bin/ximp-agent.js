#!/usr/bin/env node
'use strict';
// Launcher kept in the repository so `npx ximp-agent` works right after `npm ci && npm run build`.
require('../dist/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
    // Timers of a stopped agent are cleared; exit promptly even if a socket lingers.
    setTimeout(() => process.exit(code), 500).unref();
  })
  .catch((err) => {
    // main() reports its own failures and resolves with an exit code; this is only for a bug.
    process.stderr.write(`ximp-agent: ${(err && err.stack) || err}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 500).unref();
  });
