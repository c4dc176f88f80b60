import t from 'tap';
import { silentLogger } from '@ximp/shared';
import { AgentRegistry, type LiveSession } from '../src/registry/agent-registry';
import { connectedState } from '../src/registry/agent-state';

function fakeRecords() {
  const rows = new Map<string, { node: string; lastSeenMs: number | null; address: string | null; version: string | null; tokenId: string | null; host: unknown }>();
  const writes: string[] = [];
  return {
    rows,
    writes,
    upsertConnected(rec: { node: string; address: string; version: string; tokenId: string; host: unknown }, now: number) {
      writes.push(`upsert ${rec.node}`);
      rows.set(rec.node, { node: rec.node, lastSeenMs: now, address: rec.address, version: rec.version, tokenId: rec.tokenId, host: rec.host });
    },
    touch(node: string, now: number) {
      writes.push(`touch ${node}`);
      rows.get(node)!.lastSeenMs = now;
    },
    markDisconnected(node: string, now: number) {
      writes.push(`disconnected ${node}`);
      rows.get(node)!.lastSeenMs = now;
    },
    listed: 0,
    list() {
      this.listed++;
      return [...rows.values()];
    },
    nodes: () => [...rows.keys()],
  };
}

/** Tokens as the token store shows them; `validNodes` by its rule (tested with the real store in agent-token-store.test.ts). */
function tokenSource(tokens: { node: string; expiresMs: number; revokedMs: number | null }[]) {
  return {
    list: () => tokens,
    validNodes: (now: number) => [...new Set(tokens.filter((x) => x.revokedMs === null && x.expiresMs > now).map((x) => x.node))],
  };
}

function session(node: string, tokenId = 't1'): LiveSession & { closedWith: number[] } {
  const closedWith: number[] = [];
  return { id: `s-${node}-${Math.random()}`, node, tokenId, address: '127.0.0.1', closedWith, close: (code) => closedWith.push(code) };
}

const info = { version: '1.0.0', intervalMs: 1000, bootId: 'b', host: { hostname: '', os: '', kernel: '', arch: '', cpuModel: '', cpuCount: 1, memoryBytes: 0, virtualization: '' } };

t.test('connectedState: ACTIVE within 3 intervals of a batch, else STALE', async (t) => {
  t.equal(connectedState(null, 1000, 5000), 'STALE', 'connected but no batch yet');
  t.equal(connectedState(1000, 1000, 4000), 'ACTIVE');
  t.equal(connectedState(1000, 1000, 4001), 'STALE');
});

t.test('states, replacement, last-seen batching', async (t) => {
  let now = 10_000;
  const records = fakeRecords();
  let transactions = 0;
  const tokens = [
    { node: 'a', expiresMs: 1e15, revokedMs: null },
    { node: 'never', expiresMs: 1e15, revokedMs: null },
    { node: 'revoked-only', expiresMs: 1e15, revokedMs: 5 },
  ];
  const registry = new AgentRegistry({
    records,
    tokens: tokenSource(tokens),
    transaction: (fn) => {
      transactions++;
      fn();
    },
    log: silentLogger(),
    now: () => now,
  });
  const s1 = session('a');
  registry.attach(s1, info);
  t.same(registry.list().map((v) => [v.node, v.state]), [['a', 'STALE'], ['never', 'PENDING']], 'no batch yet: STALE; a token never used: PENDING; a revoked-only node: nothing');
  registry.batchReceived(s1, now);
  t.equal(registry.get('a')?.state, 'ACTIVE');
  now += 3001;
  t.equal(registry.get('a')?.state, 'STALE', 'no batch for over 3 intervals');

  for (let i = 0; i < 100; i++) registry.batchReceived(s1, now + i);
  const before = records.writes.length;
  const transactionsBefore = transactions; // the connect was written when the listing read the records
  registry.flush();
  t.equal(transactions - transactionsBefore, 1, 'one transaction per flush');
  t.same(records.writes.slice(before), ['touch a'], 'one write per node, however many batches');
  t.equal(records.rows.get('a')!.lastSeenMs, now + 99);

  const s2 = session('a', 't2');
  registry.attach(s2, info);
  t.same(s1.closedWith, [4003], 'the older session is replaced with 4003');
  registry.detach(s1);
  t.equal(registry.get('a')?.tokenId, 't2', 'the replaced session ending changes nothing');
  t.same(registry.sessionsOfToken('t2'), [s2]);
  t.same(registry.upValues().find((u) => u.node === 'a'), { node: 'a', up: 0 }, 'up is 0 unless ACTIVE');
  registry.detach(s2);
  t.equal(registry.get('a')?.state, 'DISCONNECTED');
});

t.test('states and up: every agent the listing shows, its state and 1 when ACTIVE, without reading whole records', async (t) => {
  let now = 10_000;
  const records = fakeRecords();
  const tokens = [
    { node: 'pending', expiresMs: 1e15, revokedMs: null },
    { node: 'revoked-only', expiresMs: 1e15, revokedMs: 5 },
    { node: 'expired-only', expiresMs: 9_000, revokedMs: null },
    { node: 'active', expiresMs: 1e15, revokedMs: null },
  ];
  const registry = new AgentRegistry({ records, tokens: tokenSource(tokens), transaction: (fn) => fn(), log: silentLogger(), now: () => now });
  const gone = session('gone');
  registry.attach(gone, info);
  registry.detach(gone);
  const active = session('active');
  registry.attach(active, info);
  registry.batchReceived(active, now);
  registry.attach(session('stale'), info);
  now += 1000;
  const listedBefore = records.listed;
  const up = registry.upValues();
  const states = registry.states();
  t.equal(records.listed, listedBefore, 'no record read whole');
  t.same(up, [
    { node: 'active', up: 1 },
    { node: 'gone', up: 0 },
    { node: 'pending', up: 0 },
    { node: 'stale', up: 0 },
  ]);
  t.same(up, registry.list().map((v) => ({ node: v.node, up: v.state === 'ACTIVE' ? 1 : 0 })), 'the same agents as the listing, in its order');
  t.same(states, registry.list().map((v) => ({ node: v.node, state: v.state })), 'states: the listing\'s agents and states, PENDING and STALE included');
  now += 3000;
  t.same(registry.upValues().find((u) => u.node === 'active'), { node: 'active', up: 0 }, 'no batch for over 3 intervals: 0');
});

t.test('the runtime an agent sent: live, after it left, and "" from agents older than the field', async (t) => {
  const records = fakeRecords();
  const registry = new AgentRegistry({
    records,
    tokens: tokenSource([{ node: 'never', expiresMs: 1e15, revokedMs: null }]),
    transaction: (fn) => fn(),
    log: silentLogger(),
    now: () => 10_000,
  });
  const s = session('new');
  registry.attach(s, { ...info, host: { ...info.host, runtime: 'node v24.22.3' } });
  registry.attach(session('old'), info);
  t.equal(registry.get('new')?.runtime, 'node v24.22.3', 'live: from Hello');
  t.equal(registry.get('old')?.runtime, '', 'an older agent sent none');
  t.equal(registry.get('never')?.runtime, null, 'PENDING: no Hello yet');
  registry.detach(s);
  t.equal(registry.get('new')?.state, 'DISCONNECTED');
  t.equal(registry.get('new')?.runtime, 'node v24.22.3', 'kept with the stored host facts');
  records.rows.set('odd', { node: 'odd', lastSeenMs: 1, address: null, version: null, tokenId: null, host: { runtime: 5 } });
  records.rows.set('none', { node: 'none', lastSeenMs: 1, address: null, version: null, tokenId: null, host: null });
  t.equal(registry.get('odd')?.runtime, '', 'stored facts with a runtime that is not text');
  t.equal(registry.get('none')?.runtime, '', 'no stored facts');
});

t.test('token expiry, clock skew, spool backlog and host facts; a change listener hears connect, first batch and disconnect', async (t) => {
  let now = 10_000;
  const records = fakeRecords();
  const tokens = [
    { id: 't1', node: 'a', expiresMs: 5e12, revokedMs: null },
    { id: 't2', node: 'waiting', expiresMs: 6e12, revokedMs: null },
  ];
  const registry = new AgentRegistry({ records, tokens: tokenSource(tokens), transaction: (fn) => fn(), log: silentLogger(), now: () => now });
  const heard: string[] = [];
  const off = registry.onChange((node) => heard.push(`${node}:${registry.get(node)?.state}`));
  registry.onChange(() => {
    throw new Error('a failing listener does not stop the others');
  });

  t.match(registry.get('waiting'), { state: 'PENDING', tokenExpiresMs: 6e12, clockSkewMs: null, spoolBacklog: null, host: null });
  const s = session('a', 't1');
  registry.attach(s, { ...info, host: { ...info.host, hostname: 'host-a' } });
  t.match(registry.get('a'), { state: 'STALE', tokenExpiresMs: 5e12, clockSkewMs: null, spoolBacklog: null, host: { hostname: 'host-a' } });
  registry.batchReceived(s, now, { clockSkewMs: -250, spoolBacklog: 7 });
  t.match(registry.get('a'), { state: 'ACTIVE', clockSkewMs: -250, spoolBacklog: 7 });
  now += 500;
  registry.batchReceived(s, now, { clockSkewMs: 40, spoolBacklog: 0 });
  t.match(registry.get('a'), { clockSkewMs: 40, spoolBacklog: 0 }, 'the latest batch counts');
  registry.detach(s);
  t.match(registry.get('a'), { state: 'DISCONNECTED', tokenExpiresMs: 5e12, clockSkewMs: null, spoolBacklog: null, host: { hostname: 'host-a' } }, 'stored host facts stay');
  t.same(heard, ['a:STALE', 'a:ACTIVE', 'a:DISCONNECTED'], 'connect, the first batch (to ACTIVE), disconnect; not every batch');
  off();
  registry.attach(session('a', 't1'), info);
  t.equal(heard.length, 3, 'unsubscribed');
});

/** A registry over fake records with no tokens, counting its transactions, on a clock the test moves. */
function countingRegistry() {
  const records = fakeRecords();
  const state = { now: 10_000, transactions: 0 };
  const registry = new AgentRegistry({
    records,
    tokens: tokenSource([]),
    transaction: (fn) => {
      state.transactions++;
      fn();
    },
    log: silentLogger(),
    now: () => state.now,
  });
  return { records, registry, state };
}

t.test('sessions starting together are written in one transaction, before a touch or a listing reads them', async (t) => {
  const { records, registry, state } = countingRegistry();
  const sessions = Array.from({ length: 100 }, (_, i) => session(`n${i}`));
  for (const s of sessions) registry.attach(s, info);
  t.equal(records.writes.length, 0, 'nothing written in the turn the sessions started');
  await new Promise((r) => setImmediate(r));
  t.equal(state.transactions, 1, 'one transaction for the 100 connects');
  t.equal(records.writes.filter((w) => w.startsWith('upsert')).length, 100);

  // Started and ended in one turn: the record says so, in that order.
  const brief = session('brief');
  registry.attach(brief, info);
  registry.detach(brief);
  await new Promise((r) => setImmediate(r));
  t.same(records.writes.slice(-2), ['upsert brief', 'disconnected brief'], 'the connect is written before the disconnect');

  // A batch in the connect's turn: the flush writes the record first, so its touch finds it.
  const late = session('late');
  registry.attach(late, info);
  state.now += 10;
  registry.batchReceived(late, state.now);
  registry.flush();
  t.same(records.writes.slice(-2), ['upsert late', 'touch late']);
  t.equal(records.rows.get('late')!.lastSeenMs, state.now);

  const listed = session('listed');
  registry.attach(listed, info);
  registry.detach(listed);
  t.equal(registry.get('listed')?.state, 'DISCONNECTED', 'a listing right after sees the record written');
});

t.test('sessions ending together are written as disconnected in one transaction; a reconnect supersedes', async (t) => {
  const { records, registry, state } = countingRegistry();
  const sessions = Array.from({ length: 100 }, (_, i) => session(`n${i}`));
  for (const s of sessions) registry.attach(s, info);
  state.now += 50;
  for (const s of sessions) registry.batchReceived(s, state.now);
  registry.flush();
  state.transactions = 0;
  const before = records.writes.length;
  for (const s of sessions) registry.detach(s);
  registry.attach(session('n7'), info); // n7 is back within the same turn
  await new Promise((r) => setImmediate(r));
  t.equal(state.transactions, 1, 'one transaction for the sessions that ended together');
  const written = records.writes.slice(before).filter((w) => w.startsWith('disconnected'));
  t.equal(written.length, 99, 'each ended session written once, not the one that came back');
  t.notOk(written.includes('disconnected n7'));
  t.equal(records.rows.get('n3')!.lastSeenMs, state.now, 'with its last-seen time');

  // A listing right after a detach sees it written, without waiting for the next turn.
  registry.detach(sessions[0]);
  const s0 = session('n0');
  registry.attach(s0, info);
  registry.detach(s0);
  t.equal(registry.get('n0')?.state, 'DISCONNECTED');
  t.ok(records.writes.at(-1) === 'disconnected n0', 'written before the listing read the records');
});
