#!/usr/bin/env node
'use strict';
// Launcher kept in the repository so `npx ximp-collector` works right after `npm ci && npm run build`.
require('../dist/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 500).unref();
  });
