'use strict';
/**
 * `count` idle agents (Hello done, pings answered by ws, no batches) connected to a collector;
 * resolves once all got their Welcome (or `timeoutSeconds`) with the generator still running.
 */
const { startLoad } = require('./generator');

async function connectIdleFleet(ctx, { prepared, url }, { count, timeoutSeconds, reconnect = true }) {
  const gen = await startLoad({ url, ca: prepared.ca, tokens: prepared.tokens, count, idle: true, reconnect });
  const t0 = performance.now();
  let lastLog = t0;
  const { done, snap } = await gen.waitFor((s) => {
    if (performance.now() - lastLog >= 5000) {
      lastLog = performance.now();
      ctx.log(`${s.connected}/${count} idle agents connected`);
    }
    return s.connected >= count;
  }, timeoutSeconds * 1000, 250);
  const seconds = (performance.now() - t0) / 1000;
  ctx.log(`${snap.connected}/${count} idle agents connected after ${seconds.toFixed(1)} s${done ? '' : ' (not all)'}`);
  return { gen, connected: snap.connected, connectSeconds: seconds, snap };
}

module.exports = { connectIdleFleet };
