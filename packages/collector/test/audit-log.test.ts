import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { AUDIT_ACTIONS, AuditLog, type AuditAction } from '../src/audit/audit-log';
import { AgentTokenStore } from '../src/auth/agent-token-store';
import { openDatabase } from '../src/store/database';

const T0 = Date.UTC(2026, 10, 23, 19, 31, 5);

function setup(tt: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-audit-'));
  let db = openDatabase(dir);
  tt.teardown(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    db: () => db,
    reopen: () => {
      db.close();
      db = openDatabase(dir);
      return new AuditLog(db);
    },
    log: new AuditLog(db),
  };
}

t.test('records entries in SPEC shape, newest first, persisted', async (t) => {
  const { log, reopen } = setup(t);
  const e = log.record({ actor: 'xc_abcdefabcdef', action: 'agent_token.create', target: 'node-a', source: '10.0.0.5' }, T0);
  t.same(e, { time: '2026-11-23T19:31:05.000Z', actor: 'xc_abcdefabcdef', action: 'agent_token.create', target: 'node-a', source: '10.0.0.5' });
  log.record({ actor: 'xc_abcdefabcdef', action: 'agent_token.revoke', target: 'k2j3h4g5f6d7', source: '::1' }, T0 + 1000);
  log.record({ actor: 'xc_abcdefabcdef', action: 'store.retention.update', target: 'store', source: '::1' }, T0 + 2000);
  const again = reopen();
  const all = again.list();
  t.same(all.map((x) => x.action), ['store.retention.update', 'agent_token.revoke', 'agent_token.create']);
  t.same(all[2], e, 'entry survives a reopen');
  t.equal(again.list({ limit: 1 }).length, 1);
  t.equal(again.list({ limit: 0 }).length, 0);
  t.equal(again.list({ limit: Number.NaN }).length, 3, 'nonsense limit falls back to the default');
});

t.test('every SPEC action is accepted, others refused', async (t) => {
  const { log } = setup(t);
  t.same([...AUDIT_ACTIONS], [
    'agent_token.create',
    'agent_token.revoke',
    'client.create',
    'client.revoke',
    'client.rotate_secret',
    'tls.renew',
    'store.retention.update',
    'alert_rule.create',
    'alert_rule.update',
    'alert_rule.delete',
    'alert_channel.create',
    'alert_channel.update',
    'alert_channel.delete',
    'user.create',
    'user.disable',
    'user.reset_password',
    'session.login',
    'session.login_failed',
    'dashboard.create',
    'dashboard.update',
    'dashboard.delete',
  ]);
  for (const action of AUDIT_ACTIONS) log.record({ actor: 'a', action, target: 't', source: 's' }, T0);
  t.equal(log.list().length, AUDIT_ACTIONS.length);
  let code: string | undefined;
  try {
    log.record({ actor: 'a', action: 'drop.tables' as AuditAction, target: 't', source: 's' }, T0);
  } catch (err) {
    code = (err as { code?: string }).code;
  }
  t.equal(code, ErrorCodes.REQUEST_INVALID);
});

t.test('never stores a secret, even when a caller passes one by mistake', async (t) => {
  const { log, db } = setup(t);
  const tok = new AgentTokenStore(db()).create('node-a', 1000_000, T0);
  const clientSecret = `xcs_${'q'.repeat(52)}`;
  const accessToken = `xat_${'r'.repeat(52)}`;
  log.record({ actor: 'xc_abcdefabcdef', action: 'agent_token.create', target: `node-a ${tok.token}`, source: clientSecret }, T0);
  log.record({ actor: accessToken, action: 'client.rotate_secret', target: 'xc_abcdefabcdef', source: '::1' }, T0);
  const raw = JSON.stringify(db().prepare('SELECT * FROM audit_log').all());
  for (const secret of [tok.token, clientSecret, accessToken]) t.notOk(raw.includes(secret), 'secret not stored');
  t.match(raw, /\[redacted\]/);
  t.equal(log.list()[1].target, 'node-a [redacted]', 'ids and nodes stay readable');
});
