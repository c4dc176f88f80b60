'use strict';
/**
 * A steady load: `agents` agents (indexes from `first`) each sending `samples` samples every
 * `intervalMs`; waits until every agent had a batch acknowledged (or `connectTimeoutSeconds`),
 * warms up, measures one window, stops the agents.
 */
const { startLoad } = require('./generator');
const { measureWindow, round } = require('./measure-window');

async function steadyLoad(ctx, { prepared, collector, url }, { agents, first = 0, samples, intervalMs = 1000, warmupSeconds, seconds, connectTimeoutSeconds = 180, maxInFlight }) {
  const offered = (agents * samples * 1000) / intervalMs;
  ctx.log(`${agents} agents x ${samples} samples every ${intervalMs} ms (offered ${offered.toLocaleString('en-US')} samples/s)`);
  const gen = await startLoad({ url, ca: prepared.ca, tokens: prepared.tokens, first, count: agents, samples, intervalMs, ...(maxInFlight ? { maxInFlight } : {}) });
  const t0 = performance.now();
  let lastLog = t0;
  try {
    const { done, snap } = await gen.waitFor((s) => {
      if (performance.now() - lastLog >= 10_000) {
        lastLog = performance.now();
        ctx.log(`${s.connected} connected, ${s.firstAcked} streaming after ${((lastLog - t0) / 1000).toFixed(0)} s`);
      }
      return s.firstAcked >= agents;
    }, connectTimeoutSeconds * 1000, 500);
    const connectSeconds = round((performance.now() - t0) / 1000, 1);
    ctx.log(`${snap.firstAcked}/${agents} agents streaming after ${connectSeconds} s (${gen.threads} generator threads)${done ? '' : ': measuring anyway'}`);
    await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
    const window = await measureWindow({ pid: collector.pid, gen, seconds });
    return { offeredSamplesPerSecond: offered, streaming: snap.firstAcked, connectSeconds, generatorThreads: gen.threads, ...window };
  } finally {
    await gen.stop();
  }
}

module.exports = { steadyLoad };
