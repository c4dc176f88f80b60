'use strict';
/**
 * Open-file limits of the bench's processes. 10,000 agent connections need ~10,000 descriptors in
 * the generator and as many in the collector; Node cannot call setrlimit, so the soft limit is
 * raised to the hard one with util-linux's `prlimit --pid` (no privilege needed below the hard
 * limit; 20,000 on the bench machine).
 */
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

/** { soft, hard } of RLIMIT_NOFILE for `pid` (Infinity for "unlimited"). */
function fileLimit(pid = process.pid) {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line.slice('Max open files'.length).trim().split(/\s+/).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft, hard };
}

/**
 * Raises `pid`'s soft limit to its hard limit where prlimit allows; returns the limit in use and
 * a line saying so (printed by the scenarios, so a figure taken under a low limit is explained).
 */
function raiseFileLimit(pid = process.pid) {
  const before = fileLimit(pid);
  if (before.soft < before.hard) {
    const hard = before.hard === Infinity ? 'unlimited' : String(before.hard);
    spawnSync('prlimit', [`--pid=${pid}`, `--nofile=${hard}:${hard}`], { stdio: 'ignore' });
  }
  const after = fileLimit(pid);
  const text = `open-file limit of pid ${pid}: ${after.soft} (hard ${after.hard})${after.soft > before.soft ? `, raised from ${before.soft}` : ''}`;
  return { ...after, text };
}

module.exports = { fileLimit, raiseFileLimit };
