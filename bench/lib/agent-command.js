'use strict';
/**
 * How the bench starts ximp-agent: the way it ships, read from one place so a change to the
 * shipped start-up (a bundled file, V8 flags in the unit) is what the bench measures.
 *
 * - the script: packages/agent/dist/ximp-agent.bundle.js when the build produced it, else
 *   packages/agent/bin/ximp-agent.js;
 * - node's flags: those in systemd/ximp-agent.service, i.e. the options between `node` and the
 *   script when ExecStart runs node itself, and NODE_OPTIONS from its Environment= lines. The
 *   agent gets exactly that NODE_OPTIONS (none when the unit sets none), not the bench's own.
 */
const fs = require('node:fs');
const path = require('node:path');

/** Splits a systemd command line or Environment= value into words (double and single quotes, backslash escapes). */
function splitWords(text) {
  const words = [];
  let word = null;
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/**
 * The node flags a unit file gives the agent: `{ nodeArgs, nodeOptions }`. nodeArgs are the words
 * starting with `-` right after the program when that program is node (`/usr/bin/node`, `nodejs`),
 * nodeOptions is the last NODE_OPTIONS assignment of its Environment= lines, or null.
 */
function unitNodeFlags(unitText) {
  let nodeArgs = [];
  let nodeOptions = null;
  for (const raw of unitText.split('\n')) {
    const line = raw.trim();
    const eq = line.indexOf('=');
    if (line.startsWith('#') || line.startsWith(';') || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'ExecStart' && value !== '') {
      // Prefixes such as `-` (ignore failure) or `@` (argv[0] follows) do not change the flags.
      const words = splitWords(value.replace(/^[-@+!:]+/, ''));
      const program = path.basename(words[0] ?? '');
      nodeArgs = [];
      if (program === 'node' || program === 'nodejs') {
        for (const w of words.slice(1)) {
          if (!w.startsWith('-')) break;
          nodeArgs.push(w);
        }
      }
    } else if (key === 'Environment') {
      for (const assignment of splitWords(value)) {
        if (assignment.startsWith('NODE_OPTIONS=')) nodeOptions = assignment.slice('NODE_OPTIONS='.length);
      }
    }
  }
  return { nodeArgs, nodeOptions: nodeOptions === '' ? null : nodeOptions };
}

/**
 * The agent's start-up as it ships, from the repository at `root`: `{ script, nodeArgs,
 * nodeOptions, describe }`, where describe is the one-line account printed by the bench.
 */
function agentCommand(root) {
  const bundle = path.join(root, 'packages/agent/dist/ximp-agent.bundle.js');
  const script = fs.existsSync(bundle) ? bundle : path.join(root, 'packages/agent/bin/ximp-agent.js');
  const unitFile = path.join(root, 'systemd/ximp-agent.service');
  const { nodeArgs, nodeOptions } = fs.existsSync(unitFile) ? unitNodeFlags(fs.readFileSync(unitFile, 'utf8')) : { nodeArgs: [], nodeOptions: null };
  const flags = [...nodeArgs, ...(nodeOptions === null ? [] : [`NODE_OPTIONS=${JSON.stringify(nodeOptions)}`])];
  const describe = `node ${[...nodeArgs, path.relative(root, script)].join(' ')}${nodeOptions === null ? '' : ` with NODE_OPTIONS=${JSON.stringify(nodeOptions)}`} (flags from systemd/ximp-agent.service: ${flags.length ? flags.join(' ') : 'none'})`;
  return { script, nodeArgs, nodeOptions, describe };
}

/** The environment the agent runs with: the bench's own, with NODE_OPTIONS exactly the unit's. */
function agentEnv(command, env = process.env) {
  const out = { ...env };
  if (command.nodeOptions === null) delete out.NODE_OPTIONS;
  else out.NODE_OPTIONS = command.nodeOptions;
  return out;
}

module.exports = { agentCommand, agentEnv, unitNodeFlags, splitWords };
