#!/usr/bin/env node
'use strict';
/**
 * `node bench/load/profile-window.js IN.cpuprofile FROM_END_S TO_END_S OUT.cpuprofile`: keeps the
 * samples of a --cpu-prof profile taken between FROM_END_S and TO_END_S seconds before its end
 * (the collector's exit), so a summary covers the measured window alone and not the connection
 * storm before it. The scenarios print the two figures for their window.
 */
const fs = require('node:fs');

function sliceProfile(profile, fromEndSeconds, toEndSeconds) {
  const deltas = profile.timeDeltas;
  const total = deltas.reduce((a, b) => a + b, 0);
  const from = total - fromEndSeconds * 1e6;
  const to = total - toEndSeconds * 1e6;
  const samples = [];
  const timeDeltas = [];
  let t = 0;
  let last = null;
  for (let i = 0; i < profile.samples.length; i++) {
    t += deltas[i];
    if (t < from || t > to) continue;
    samples.push(profile.samples[i]);
    timeDeltas.push(last === null ? 0 : t - last);
    last = t;
  }
  return { ...profile, startTime: profile.startTime + from, endTime: profile.startTime + to, samples, timeDeltas };
}

if (require.main === module) {
  const [input, fromEnd, toEnd, output] = process.argv.slice(2);
  if (!output) {
    process.stderr.write('usage: node bench/load/profile-window.js IN.cpuprofile FROM_END_S TO_END_S OUT.cpuprofile\n');
    process.exit(2);
  }
  fs.writeFileSync(output, JSON.stringify(sliceProfile(JSON.parse(fs.readFileSync(input, 'utf8')), Number(fromEnd), Number(toEnd))));
}

module.exports = { sliceProfile };
