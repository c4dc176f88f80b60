'use strict';
/**
 * Revocation at scale: with 10,000 idle agents connected (BENCH_REVOCATION_AGENTS), one token is
 * revoked through the admin API the CLI uses for one ID (`DELETE /api/v1/agent-tokens/<id>`), timed
 * from the call until its agent saw its session closed; then 1,000 tokens at once in the one call
 * the CLI makes for several IDs (`POST /api/v1/agent-tokens/revoke` with their ids: one
 * transaction), timed until all 1,000 agents saw theirs closed (the first close of each counts; a
 * revoked agent's retries are refused).
 */
const { withCollector } = require('../load/collector-under-load');
const { connectIdleFleet } = require('../load/idle-fleet');
const { adminApi } = require('../load/admin-api');
const { round } = require('../load/measure-window');
// The API's limit of ids in one bulk revocation, as the CLI splits them.
const { MAX_REVOKE_IDS } = require('../../packages/shared/dist/index.js');

const absNow = () => performance.timeOrigin + performance.now();

/**
 * Revokes `indexes`' tokens at once: one DELETE for one token, else one bulk call per 1,000 (as
 * the CLI does); resolves with ms until all their sessions closed at the agents.
 */
async function revoke(api, gen, tokenIds, indexes, timeoutMs) {
  const waiting = new Set(indexes);
  await gen.snapshot(); // drops close events from before
  const t0 = absNow();
  const checked = (expect) => (res) => {
    if (res.status !== 200) return [`HTTP ${res.status}`];
    return expect(JSON.parse(res.body));
  };
  const chunks = [];
  for (let k = 0; k < indexes.length; k += MAX_REVOKE_IDS) chunks.push(indexes.slice(k, k + MAX_REVOKE_IDS).map((i) => tokenIds[i]));
  const calls = Promise.all(
    indexes.length === 1
      ? [api.call('DELETE', `/api/v1/agent-tokens/${encodeURIComponent(tokenIds[indexes[0]])}`).then(checked(() => []), (err) => [err.message])]
      : chunks.map((ids) =>
          api.call('POST', '/api/v1/agent-tokens/revoke', { ids }).then(
            checked((body) => body.results.filter((r) => r.status !== 'revoked').map((r) => `${r.id} ${r.status}`)),
            (err) => [err.message],
          ),
        ),
  ).then((outcomes) => ({ apiMs: absNow() - t0, failures: outcomes.flat() }));
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
        ctx.log(`${bulk} tokens revoked at once: ${many.closed}/${bulk} sessions closed after ${many.ms ?? 'more than 30,000'} ms (bulk call answered after ${many.apiMs} ms)`);
        return { agents: count, connected, one, many };
      } finally {
        api.close();
        await gen.stop();
      }
    });
    const calls = (n) => (n <= MAX_REVOKE_IDS ? 'one call' : `${Math.ceil(n / MAX_REVOKE_IDS)} calls`);
    const note = (r, how) =>
      `${r.closed}/${r.of} closed (codes ${JSON.stringify(r.closeCodes)}); ${how} answered after ${r.apiMs} ms${r.apiFailures.length ? `; failures: ${r.apiFailures.join(', ')}` : ''}`;
    return {
      figures: [
        {
          id: 'one_token_ms',
          label: `one token revoked, ${details.connected.toLocaleString('en-US')} agents connected: session closed at the agent`,
          value: details.one.ms,
          unit: 'ms',
          target: { op: '<=', value: 1000, text: '≤ 1 s' },
          anchor: 'Teleport locks: seconds',
          note: note(details.one, 'DELETE /api/v1/agent-tokens/<id>'),
        },
        {
          id: 'bulk_tokens_ms',
          label: `${bulk.toLocaleString('en-US')} tokens revoked at once: all sessions closed at the agents`,
          value: details.many.ms,
          unit: 'ms',
          target: { op: '<=', value: 2000, text: '≤ 2 s' },
          note: note(details.many, `POST /api/v1/agent-tokens/revoke (${bulk.toLocaleString('en-US')} ids, ${calls(bulk)})`),
        },
      ],
      details,
    };
  },
};
