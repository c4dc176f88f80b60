'use strict';
/**
 * What a process costs, read from /proc (Linux only).
 *
 * `cpuSeconds` comes from /proc/<pid>/stat (clock ticks: 10 ms resolution, fine for a collector
 * busy for seconds); `cpuNs` is the sum of the first field of every thread's schedstat (the time
 * the scheduler ran it, in ns), which is what a per-cycle figure of a few ms needs.
 */
const fs = require('node:fs');

const PAGE_SIZE = 4096;
const TICKS_PER_SECOND = 100;

/** The fields of a /proc stat file after the command name (which may hold spaces): [0] is the state. */
function statFields(file) {
  const stat = fs.readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU (ticks and ns) and RSS bytes of a process. */
function procUsage(pid) {
  const fields = statFields(`/proc/${pid}/stat`);
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: rssPages * PAGE_SIZE, cpuNs: schedstatNs(pid), minorFaults: Number(fields[7]) };
}

/**
 * Run time of all the process's threads, in ns. A thread that ends between the listing and the
 * read is skipped: its time is lost from the sum, which is why a window should be long enough
 * that no thread's whole life falls inside it (V8 and libuv keep theirs).
 */
function schedstatNs(pid) {
  let total = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended after the listing
    }
  }
  return total;
}

/** thread id -> [user, system] CPU ticks (TICKS_PER_SECOND a second) of each of the process's threads. */
function threadTicks(pid) {
  const ticks = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = statFields(`/proc/${pid}/task/${tid}/stat`);
      ticks.set(tid, [Number(fields[11]), Number(fields[12])]);
    } catch {
      // the thread ended after the listing
    }
  }
  return ticks;
}

/** The process's peak resident set (VmHWM), in bytes; null when the kernel does not report it. */
function peakRss(pid) {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * The process's resident memory by kind, from /proc/<pid>/smaps_rollup, in bytes: `anonymous`
 * (heap, stacks: only swap can take it back) and `file` (pages of the program and its libraries,
 * which the kernel can drop and read again, and which processes running the same binary share).
 * null when the kernel has no smaps_rollup.
 */
function memoryKinds(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return null;
  }
  const kB = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  const anonymous = kB('Anonymous');
  return { anonymous, file: kB('Rss') - anonymous };
}

module.exports = { procUsage, peakRss, memoryKinds, schedstatNs, threadTicks, TICKS_PER_SECOND };
