import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { AgentTokenStore, agentTokenStatus } from '../src/auth/agent-token-store';
import { parseAgentToken } from '../src/auth/agent-token';
import { openDatabase, DATABASE_FILE } from '../src/store/database';

const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2026, 0, 1);

function setup(tt: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-tokens-'));
  const db = openDatabase(dir);
  tt.teardown(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db, store: new AgentTokenStore(db) };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

t.test('create returns the token once and stores only a hash', async (t) => {
  const { dir, db, store } = setup(t);
  const created = store.create('node-a', 365 * DAY, T0);
  const parsed = parseAgentToken(created.token);
  t.ok(parsed);
  t.equal(parsed!.id, created.id);
  t.same(
    { node: created.node, createdMs: created.createdMs, expiresMs: created.expiresMs },
    { node: 'node-a', createdMs: T0, expiresMs: T0 + 365 * DAY },
  );
  const rows = db.prepare('SELECT * FROM agent_tokens').all() as Record<string, unknown>[];
  t.equal(rows.length, 1);
  const text = JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
  t.notOk(text.includes(parsed!.secret), 'secret not in any column');
  t.equal((rows[0].secret_hash as Buffer).length, 32);
  t.notOk(JSON.stringify(store.list()).includes(parsed!.secret), 'list never exposes secret or hash');
  t.notOk('secret_hash' in (store.get(created.id) as object));
  db.close();
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith(DATABASE_FILE))) {
    const bytes = fs.readFileSync(path.join(dir, f)).toString('latin1');
    t.notOk(bytes.includes(parsed!.secret), `secret absent from ${f}`);
    t.notOk(bytes.includes(created.token), `token absent from ${f}`);
  }
});

t.test('verify: valid, and the same invalid_token for malformed, unknown id and wrong secret', async (t) => {
  const { store } = setup(t);
  const { token, id } = store.create('node-a', DAY, T0);
  const ok = store.verify(token, 'node-a', T0 + 1);
  t.equal(ok.ok, true);
  if (ok.ok) t.equal(ok.record.id, id);

  const parsed = parseAgentToken(token)!;
  const flip = (s: string) => s.slice(0, -1) + (s.endsWith('a') ? 'b' : 'a');
  const invalid = { ok: false, status: 401, reason: 'invalid_token' };
  const answers = [
    store.verify('garbage', 'node-a', T0),
    store.verify('', 'node-a', T0),
    store.verify(`${token}x`, 'node-a', T0),
    store.verify(`ximp_${flip(parsed.id)}_${parsed.secret}`, 'node-a', T0),
    store.verify(`ximp_${parsed.id}_${flip(parsed.secret)}`, 'node-a', T0),
    // a wrong secret for another node still says nothing about the node
    store.verify(`ximp_${parsed.id}_${flip(parsed.secret)}`, 'node-b', T0),
  ];
  for (const a of answers) t.same(a, invalid);
  t.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, 'all answers identical');
});

t.test('verify: revoked, expired and wrong node are told only with the correct secret', async (t) => {
  const { store } = setup(t);
  const a = store.create('node-a', DAY, T0);
  t.same(store.verify(a.token, 'node-b', T0), { ok: false, status: 403, reason: 'wrong_node' });
  t.equal(store.verify(a.token, 'node-a', T0 + DAY - 1).ok, true, 'valid until the last millisecond');
  t.same(store.verify(a.token, 'node-a', T0 + DAY), { ok: false, status: 401, reason: 'expired' });
  t.same(store.verify(a.token, 'node-b', T0 + DAY), { ok: false, status: 401, reason: 'expired' }, 'expired beats wrong node');

  const b = store.create('node-a', DAY, T0);
  t.equal(store.revoke(b.id, T0 + 5), 'revoked');
  t.same(store.verify(b.token, 'node-a', T0 + 6), { ok: false, status: 401, reason: 'revoked' });
  t.same(store.verify(b.token, 'node-b', T0 + DAY * 2), { ok: false, status: 401, reason: 'revoked' }, 'revoked beats the rest');
  const p = parseAgentToken(b.token)!;
  const wrong = `ximp_${p.id}_${p.secret.slice(0, -1)}${p.secret.endsWith('z') ? 'y' : 'z'}`;
  t.same(store.verify(wrong, 'node-a', T0 + 6), { ok: false, status: 401, reason: 'invalid_token' }, 'wrong secret of a revoked token says nothing');
});

t.test('revoke states, status, several tokens per node, list order', async (t) => {
  const { store } = setup(t);
  const a1 = store.create('node-a', DAY, T0 + 10);
  const b1 = store.create('node-b', DAY, T0 + 5);
  const a2 = store.create('node-a', 2 * DAY, T0 + 10);
  const a3 = store.create('node-a', 3 * DAY, T0 + 20);
  for (const tok of [a1, a2, a3]) t.equal(store.verify(tok.token, 'node-a', T0 + 30).ok, true, 'every token of a node is valid at once');

  const sameTime = [a1.id, a2.id].sort();
  t.same(store.list('node-a').map((r) => r.id), [...sameTime, a3.id], 'created then id');
  t.same(store.list().map((r) => r.id), [b1.id, ...sameTime, a3.id]);
  t.same(store.list('nobody'), []);

  t.equal(store.revoke(a1.id, T0 + 40), 'revoked');
  t.equal(store.revoke(a1.id, T0 + 50), 'already_revoked');
  t.equal(store.revoke('zzzzzzzzzzzz', T0), 'not_found');
  t.equal(store.get(a1.id)!.revokedMs, T0 + 40, 'first revocation time kept');
  t.equal(store.get('nope'), null);
  t.equal(store.verify(a2.token, 'node-a', T0 + 41).ok, true, 'revoking one token leaves the others');

  t.equal(agentTokenStatus(store.get(a1.id)!, T0), 'revoked');
  t.equal(agentTokenStatus(store.get(a2.id)!, T0 + 11), 'valid');
  t.equal(agentTokenStatus(store.get(a2.id)!, T0 + 10 + 2 * DAY), 'expired');

  t.equal(store.nextExpiry(T0), b1.expiresMs, 'earliest unrevoked expiry');
  t.equal(store.nextExpiry(b1.expiresMs), a2.expiresMs, 'strictly after now, revoked a1 skipped');
  t.equal(store.nextExpiry(T0 + 100 * DAY), null);

  t.equal(store.get(a2.id)!.lastUsedMs, null);
  store.markUsed(a2.id, T0 + 99);
  t.equal(store.get(a2.id)!.lastUsedMs, T0 + 99);
});

t.test('create validates node and expiry', async (t) => {
  const { store } = setup(t);
  for (const node of ['', 'Node-A', '-a', 'a b', 'a_b', 'x'.repeat(254)]) {
    t.equal(codeOf(() => store.create(node, DAY, T0)), ErrorCodes.REQUEST_INVALID, JSON.stringify(node).slice(0, 20));
  }
  t.ok(store.create('x'.repeat(253), DAY, T0));
  t.ok(store.create('a.b-c.example', DAY, T0));
  t.equal(codeOf(() => store.create('a', 0, T0)), ErrorCodes.REQUEST_INVALID);
  t.equal(codeOf(() => store.create('a', -5, T0)), ErrorCodes.REQUEST_INVALID);
});

t.test('tokens survive a reopen', async (t) => {
  const { dir, db, store } = setup(t);
  const a = store.create('node-a', DAY, T0);
  db.close();
  const db2 = openDatabase(dir);
  t.teardown(() => db2.close());
  t.equal(new AgentTokenStore(db2).verify(a.token, 'node-a', T0 + 1).ok, true);
});

t.test('last-used is batched and best-effort: a failing database never fails markUsed', async (t) => {
  const { dir, db, store } = setup(t);
  const a = store.create('node-a', DAY, T0);
  const raw = () => (db.prepare('SELECT last_used_ms FROM agent_tokens WHERE id = ?').get(a.id) as { last_used_ms: number | null }).last_used_ms;
  // Writes refused, as on a full or read-only disk.
  db.pragma('query_only = ON');
  t.doesNotThrow(() => store.markUsed(a.id, T0 + 10), 'markUsed touches no storage');
  t.equal(store.get(a.id)!.lastUsedMs, T0 + 10, 'reads see the pending time at once');
  t.equal(raw(), null, 'nothing written yet');
  t.throws(() => store.flushLastUsed(), { code: 'SQLITE_READONLY' }, 'the flush reports the fault to its caller');
  store.markUsed(a.id, T0 + 5);
  db.pragma('query_only = OFF');
  store.flushLastUsed();
  t.equal(raw(), T0 + 10, 'kept across the failed flush; the later time wins');
  store.flushLastUsed();
  db.close();
  const db2 = openDatabase(dir);
  t.teardown(() => db2.close());
  t.equal(new AgentTokenStore(db2).get(a.id)!.lastUsedMs, T0 + 10, 'survives a reopen');
});

t.test('revocations asked for at once commit together: results per id, all or none on a fault', async (t) => {
  const { store } = setup(t);
  const a = store.create('node-a', DAY, T0);
  const b = store.create('node-b', DAY, T0);
  const c = store.create('node-c', DAY, T0);
  const seen: string[] = [];
  const results = await Promise.all([
    store.revokeGrouped(a.id, T0 + 1, (r) => seen.push(`a:${r}`)),
    store.revokeGrouped(a.id, T0 + 1, (r) => seen.push(`a:${r}`)),
    store.revokeGrouped('zzzzzzzzzzzz', T0 + 1),
    store.revokeGrouped(b.id, T0 + 1),
  ]);
  t.same(results, ['revoked', 'already_revoked', 'not_found', 'revoked']);
  t.same(seen, ['a:revoked', 'a:already_revoked'], 'what runs alongside is told each result, in order');
  t.equal(store.get(b.id)!.revokedMs, T0 + 1);

  // Something written alongside fails: the group's transaction rolls back, every caller is told.
  const failing = store.revokeGrouped(c.id, T0 + 2, () => {
    throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  });
  const sibling = store.revokeGrouped(b.id, T0 + 2);
  await t.rejects(failing, { code: 'SQLITE_IOERR' });
  await t.rejects(sibling, { code: 'SQLITE_IOERR' });
  t.equal(store.get(c.id)!.revokedMs, null, 'nothing of the failed group took effect');
  t.equal(await store.revokeGrouped(c.id, T0 + 3), 'revoked', 'the next group commits');
});

t.test('a bulk revocation is one all-or-none part of the group commit', async (t) => {
  const { store } = setup(t);
  const a = store.create('node-a', DAY, T0);
  const b = store.create('node-b', DAY, T0);
  const c = store.create('node-c', DAY, T0);
  const seen: string[] = [];
  const [bulk, single] = await Promise.all([
    store.revokeAllGrouped([a.id, 'zzzzzzzzzzzz', a.id, b.id], T0 + 1, (id, r) => seen.push(`${id}:${r}`)),
    store.revokeGrouped(b.id, T0 + 1),
  ]);
  t.same(bulk, ['revoked', 'not_found', 'already_revoked', 'revoked'], 'per id, in order');
  t.equal(single, 'already_revoked', 'a revocation asked for in the same turn joins the same commit, after it');
  t.same(seen, [`${a.id}:revoked`, 'zzzzzzzzzzzz:not_found', `${a.id}:already_revoked`, `${b.id}:revoked`]);

  const failing = store.revokeAllGrouped([c.id, b.id], T0 + 2, (id) => {
    if (id === b.id) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  });
  await t.rejects(failing, { code: 'SQLITE_IOERR' });
  t.equal(store.get(c.id)!.revokedMs, null, 'the id revoked before the fault is not revoked');

  await t.rejects(store.revokeAllGrouped(Array.from({ length: 100_001 }, () => c.id), T0 + 3), { code: ErrorCodes.STORE_BUSY }, 'refused whole past the bound');
  t.same(await store.revokeAllGrouped([c.id], T0 + 3), ['revoked']);
});

t.test('validNodes and unrevokedNodes: each node with a token neither revoked nor expired (or not revoked), once', async (t) => {
  const { store } = setup(t);
  store.create('two-valid', 365 * DAY, T0);
  store.create('two-valid', 365 * DAY, T0);
  store.create('expired', DAY, T0);
  const revoked = store.create('revoked', 365 * DAY, T0);
  t.equal(store.revoke(revoked.id, T0 + 1), 'revoked');
  const oneLeft = store.create('one-of-two-revoked', 365 * DAY, T0);
  store.create('one-of-two-revoked', 365 * DAY, T0);
  store.revoke(oneLeft.id, T0 + 1);
  t.same(store.validNodes(T0 + DAY - 1).sort(), ['expired', 'one-of-two-revoked', 'two-valid']);
  t.same(store.validNodes(T0 + DAY).sort(), ['one-of-two-revoked', 'two-valid'], 'a token expires at its expiry');
  t.same(store.unrevokedNodes().sort(), ['expired', 'one-of-two-revoked', 'two-valid'], 'unrevokedNodes: expired or not, once each');
});
