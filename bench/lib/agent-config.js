'use strict';
const fs = require('node:fs');
const path = require('node:path');

/**
 * Writes the agent.yaml the benches run a real agent with: every source, a 1 s interval, the
 * first token of a prepared collector (collector-process.js), 0600 as the agent expects.
 */
function writeBenchAgentConfig(file, { prepared, spoolDir, logLevel = 'info' }) {
  const { AGENT_SOURCE_NAMES } = require(path.join(__dirname, '../../packages/agent/dist/config.js'));
  const lines = [
    'server:',
    `  url: wss://127.0.0.1:${prepared.ports.agents}/v1/agent`,
    `  auth_token: ${prepared.tokens[0]}`,
    `  ca_file: ${prepared.caFile}`,
    'node: bench-0',
    'interval: 1s',
    `sources: [${AGENT_SOURCE_NAMES.join(', ')}]`,
    'spool:',
    `  dir: ${spoolDir}`,
    'log:',
    `  level: ${logLevel}`,
    '',
  ];
  fs.writeFileSync(file, lines.join('\n'), { mode: 0o600 });
}

module.exports = { writeBenchAgentConfig };
