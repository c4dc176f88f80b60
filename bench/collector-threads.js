#!/usr/bin/env node
'use strict';
/**
 * CPU of a running collector, thread by thread: every SECONDS, each thread's user and system
 * milliseconds per second from /proc/PID/task (the main thread is the one whose id is the
 * process's). With a PID it ends when that process exits; without one it finds the collector by
 * its command line and follows each one that starts (a scenario starts a fresh collector per
 * part) until interrupted. Run beside a bench scenario, e.g.
 *   node bench/collector-threads.js & npm run bench -- --only=collector-latency
 * Usage: node bench/collector-threads.js [SECONDS=10] [PID]
 */
const fs = require('node:fs');
const { threadTicks, TICKS_PER_SECOND } = require('./lib/proc-usage');

const seconds = Number(process.argv[2] || 10);
const givenPid = process.argv[3] ?? null;
if (!(seconds > 0) || (givenPid !== null && !/^\d+$/.test(givenPid))) {
  process.stderr.write('usage: node bench/collector-threads.js [SECONDS=10] [PID]\n');
  process.exit(2);
}

function findCollector() {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || entry === String(process.pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('ximp-collector')) return entry;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return null;
}

let pid = givenPid;
let previous = null;
const timer = setInterval(() => {
  pid ??= findCollector();
  if (!pid) return;
  let current;
  try {
    current = threadTicks(pid);
  } catch {
    process.stdout.write(`collector ${pid} exited\n`);
    if (givenPid) clearInterval(timer);
    pid = givenPid ? pid : null;
    previous = null;
    return;
  }
  if (previous) {
    const perSecond = (ticks) => (ticks * 1000) / TICKS_PER_SECOND / seconds;
    let total = 0;
    const parts = [];
    for (const [tid, [user, system]] of current) {
      const [user0, system0] = previous.get(tid) ?? [0, 0];
      const u = perSecond(user - user0);
      const s = perSecond(system - system0);
      total += u + s;
      if (u + s > 0) parts.push(`${tid === pid ? 'main' : tid} ${u.toFixed(0)}+${s.toFixed(0)}`);
    }
    process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${total.toFixed(0)} ms/s (user+system by thread): ${parts.join(', ')}\n`);
  }
  previous = current;
}, seconds * 1000);
