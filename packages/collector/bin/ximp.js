#!/usr/bin/env node
'use strict';
// The `ximp` admin CLI. A committed launcher, so `npx ximp` works after `npm ci && npm run build`
// (npm links bins only to files that exist at install time). main() never rejects.
require('../dist/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    // main() reports its own failures and resolves with an exit code; this is only for a bug.
    process.stderr.write(`ximp: ${(err && err.stack) || err}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 500).unref();
  });
