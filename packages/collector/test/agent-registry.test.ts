import t from 'tap';
import { silentLogger } from '@ximp/shared';
import { AgentRegistry, type LiveSession } from '../src/registry/agent-registry';
import { connectedState } from '../src/registry/agent-state';

function fakeRecords() {
  const rows = new Map<string, { node: string; lastSeenMs: number | null; address: string | null; version: string | null; tokenId: string | null }>();
  const writes: string[] = [];
  return {
    rows,
    writes,
    upsertConnected(rec: { node: string; address: string; version: string; tokenId: string }, now: number) {
      writes.push(`upsert ${rec.node}`);
      rows.set(rec.node, { node: rec.node, lastSeenMs: now, address: rec.address, version: rec.version, tokenId: rec.tokenId });
    },
    touch(node: string, now: number) {
      writes.push(`touch ${node}`);
      rows.get(node)!.lastSeenMs = now;
    },
    markDisconnected(node: string, now: number) {
      writes.push(`disconnected ${node}`);
      rows.get(node)!.lastSeenMs = now;
    },
    list: () => [...rows.values()],
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
    tokens: { list: () => tokens },
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
  registry.flush();
  t.equal(transactions, 1, 'one transaction per flush');
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
