import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { AccessTokenStore } from '../src/auth/access-token-store';
import { ApiClientStore, isApiClientId } from '../src/auth/api-client-store';
import type { Role } from '../src/auth/roles';
import { DATABASE_FILE, openDatabase } from '../src/store/database';

const T0 = Date.UTC(2026, 0, 1);

function setup(tt: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-clients-'));
  const db = openDatabase(dir);
  tt.teardown(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db, clients: new ApiClientStore(db), access: new AccessTokenStore(db) };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

t.test('create shows the secret once and stores only its hash', async (t) => {
  const { dir, db, clients } = setup(t);
  const c = clients.create('ci deploy', 'monitoring-editor', T0);
  t.match(c.clientId, /^xc_[a-z0-9]{12}$/);
  t.ok(isApiClientId(c.clientId));
  t.match(c.clientSecret, /^xcs_[a-z0-9]{52}$/);
  t.same({ name: c.name, role: c.role, createdMs: c.createdMs }, { name: 'ci deploy', role: 'monitoring-editor', createdMs: T0 });
  t.same(clients.get(c.clientId), {
    id: c.clientId,
    name: 'ci deploy',
    role: 'monitoring-editor',
    createdMs: T0,
    lastUsedMs: null,
    revokedMs: null,
    secretRotatedMs: null,
    nodes: null,
    status: 'active',
  });
  t.notOk(JSON.stringify(clients.list()).includes(c.clientSecret));
  db.close();
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith(DATABASE_FILE))) {
    t.notOk(fs.readFileSync(path.join(dir, f)).toString('latin1').includes(c.clientSecret.slice(4)), `secret absent from ${f}`);
  }
});

t.test('verify: constant-time check, last-used, revoked clients refused', async (t) => {
  const { clients } = setup(t);
  const c = clients.create('admin', 'monitoring-admin', T0);
  const other = clients.create('other', 'monitoring-viewer', T0 + 1);
  const ok = clients.verify(c.clientId, c.clientSecret, T0 + 10);
  t.ok(ok);
  t.equal(ok!.role, 'monitoring-admin');
  t.equal(ok!.lastUsedMs, T0 + 10);
  t.equal(clients.get(c.clientId)!.lastUsedMs, T0 + 10, 'last used persisted');

  t.equal(clients.verify(c.clientId, other.clientSecret, T0), null, 'another client secret');
  t.equal(clients.verify(c.clientId, c.clientSecret.slice(0, -1), T0), null, 'truncated');
  t.equal(clients.verify(c.clientId, '', T0), null);
  t.equal(clients.verify('xc_aaaaaaaaaaaa', c.clientSecret, T0), null, 'unknown id');
  t.equal(clients.verify('bogus', c.clientSecret, T0), null, 'malformed id');
  t.equal(clients.verify(undefined as unknown as string, c.clientSecret, T0), null);
  t.equal(clients.get(other.clientId)!.lastUsedMs, null, 'failed attempts do not count as use');

  // Another admin exists, so this one is not the last (which cannot be revoked).
  clients.create('spare admin', 'monitoring-admin', T0 + 2);
  t.equal(clients.revoke(c.clientId, T0 + 20), 'revoked');
  t.equal(clients.revoke(c.clientId, T0 + 30), 'already_revoked');
  t.equal(clients.revoke('xc_000000000000', T0), 'not_found');
  t.equal(clients.verify(c.clientId, c.clientSecret, T0 + 40), null, 'revoked client refused');
  const rec = clients.get(c.clientId)!;
  t.equal(rec.status, 'revoked');
  t.equal(rec.revokedMs, T0 + 20);
  t.same(clients.list().map((r) => [r.name, r.status]), [['admin', 'revoked'], ['other', 'active'], ['spare admin', 'active']]);
});

t.test('rotateSecret replaces the secret and ends old access tokens', async (t) => {
  const { clients, access } = setup(t);
  const c = clients.create('cli', 'monitoring-viewer', T0);
  const issued = access.issue(c.clientId, 3600_000, T0);
  t.ok(access.verify(issued.accessToken, T0 + 1));
  const fresh = clients.rotateSecret(c.clientId, T0 + 5);
  t.match(fresh, /^xcs_[a-z0-9]{52}$/);
  t.not(fresh, c.clientSecret);
  t.equal(clients.verify(c.clientId, c.clientSecret, T0 + 6), null, 'old secret refused');
  t.ok(clients.verify(c.clientId, fresh!, T0 + 6), 'new secret accepted');
  t.equal(access.verify(issued.accessToken, T0 + 6), null, 'access token of the old secret gone');
  t.equal(clients.get(c.clientId)!.secretRotatedMs, T0 + 5);
  t.equal(clients.rotateSecret('xc_000000000000', T0), null, 'unknown');
  clients.revoke(c.clientId, T0 + 7);
  t.equal(clients.rotateSecret(c.clientId, T0 + 8), null, 'revoked');
});

t.test('create validates name and role', async (t) => {
  const { clients } = setup(t);
  t.equal(codeOf(() => clients.create('', 'monitoring-admin', T0)), ErrorCodes.REQUEST_INVALID);
  t.equal(codeOf(() => clients.create('   ', 'monitoring-admin', T0)), ErrorCodes.REQUEST_INVALID);
  t.equal(codeOf(() => clients.create('a\nb', 'monitoring-admin', T0)), ErrorCodes.REQUEST_INVALID);
  t.equal(codeOf(() => clients.create('x'.repeat(201), 'monitoring-admin', T0)), ErrorCodes.REQUEST_INVALID);
  t.equal(codeOf(() => clients.create('x', 'root' as Role, T0)), ErrorCodes.REQUEST_INVALID);
  t.same(clients.list(), []);
});
