'use strict';
/**
 * Revocation at scale: with 10,000 idle agents connected (BENCH_REVOCATION_AGENTS), one token is
 * revoked through the admin API the CLI uses (`DELETE /api/v1/agent-tokens/<id>`), timed from the
 * call until its agent saw its session closed; then 1,000 tokens at once (the API has no bulk
 * form: 1,000 concurrent calls over 32 kept-alive connections), timed until all 1,000 agents saw
 * theirs closed (the first close of each counts; a revoked agent's retries are refused).
 */
const { withCollector } = require('../load/collector-under-load');
const { connectIdleFleet } = require('../load/idle-fleet');
const { adminApi } = require('../load/admin-api');
const { round } = require('../load/measure-window');

const absNow = () => performance.timeOrigin + performance.now();

/** Revokes `indexes`' tokens at once; resolves with ms until all their sessions closed at the agents. */
async function revoke(api, gen, tokenIds, indexes, timeoutMs) {
  const waiting = new Set(indexes);
  await gen.snapshot(); // drops close events from before
  const t0 = absNow();
  const calls = Promise.all(
    indexes.map((i) =>
      api.call('DELETE', `/api/v1/agent-tokens/${encodeURIComponent(tokenIds[i])}`).then(
        (res) => (res.status === 200 ? null : `HTTP ${res.status}`),
        (err) => err.message,
      ),
    ),
  ).then((outcomes) => ({ apiMs: absNow() - t0, failures: outcomes.filter(Boolean) }));
  let lastClose = t0;
  const codes = {};
  while (waiting.size > 0 && absNow() - t0 < timeoutMs) {
    const snap = await gen.snapshot();
    for (const e of snap.closeEvents) {
      if (!waiting.delete(e.index)) continue;
      lastClose = Math.max(lastClose, e.at);
      codes[e.code] = (codes[e.code] ?? 0) + 1;
    }
    if (waiting.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
  const answered = await calls;
  return { closed: indexes.length - waiting.size, of: indexes.length, ms: waiting.size === 0 ? round(lastClose - t0, 0) : null, apiMs: round(answered.apiMs, 0), apiFailures: answered.failures.slice(0, 5), closeCodes: codes };
}

module.exports = {
  id: 'revocation',
  title: 'Revocation with 10,000 agents connected',
  async run(ctx) {
    const count = Number(ctx.env.BENCH_REVOCATION_AGENTS ?? (ctx.quick ? 20 : 10_000));
    const bulk = Math.min(ctx.quick ? 10 : 1000, count - 1);
    const details = await withCollector(ctx, 'revocation', { agents: count }, async (c) => {
      const { gen, connected } = await connectIdleFleet(ctx, c, { count, timeoutSeconds: ctx.quick ? 30 : Number(ctx.env.BENCH_CONNECT_SECONDS ?? 600) });
      const api = adminApi(c.prepared.cliConfig, c.prepared.ports.api, c.prepared.ca);
      try {
        await api.signIn();
        const one = await revoke(api, gen, c.prepared.tokenIds, [0], 10_000);
        ctx.log(`one token revoked: session closed after ${one.ms ?? 'more than 10,000'} ms (API answered after ${one.apiMs} ms)`);
        const many = await revoke(api, gen, c.prepared.tokenIds, Array.from({ length: bulk }, (_, k) => k + 1), 30_000);
        ctx.log(`${bulk} tokens revoked at once: ${many.closed}/${bulk} sessions closed after ${many.ms ?? 'more than 30,000'} ms (API calls done after ${many.apiMs} ms)`);
        return { agents: count, connected, one, many };
      } finally {
        api.close();
        await gen.stop();
      }
    });
    const note = (r) => `${r.closed}/${r.of} closed (codes ${JSON.stringify(r.closeCodes)}); API calls answered after ${r.apiMs} ms${r.apiFailures.length ? `; failures: ${r.apiFailures.join(', ')}` : ''}`;
    return {
      figures: [
        {
          id: 'one_token_ms',
          label: `one token revoked, ${details.connected.toLocaleString('en-US')} agents connected: session closed at the agent`,
          value: details.one.ms,
          unit: 'ms',
          target: { op: '<=', value: 1000, text: '≤ 1 s' },
          anchor: 'Teleport locks: seconds',
          note: note(details.one),
        },
        {
          id: 'bulk_tokens_ms',
          label: `${bulk.toLocaleString('en-US')} tokens revoked at once: all sessions closed at the agents`,
          value: details.many.ms,
          unit: 'ms',
          target: { op: '<=', value: 2000, text: '≤ 2 s' },
          note: note(details.many),
        },
      ],
      details,
    };
  },
};
