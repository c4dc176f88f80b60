import t from 'tap';
import type { AuditEntryJson } from '@ximp/shared';
import { AUDIT_LIMIT, actionOptions, auditQuery, filterAudit, rangeProblem, type AuditFilter } from '../src/pages/admin-audit-filter';

const none: AuditFilter = { action: '', actor: '', from: '', to: '' };
/** An entry at the given local datetime-local value. */
function at(local: string, action: string, actor: string): AuditEntryJson {
  return { time: new Date(local).toISOString(), action, actor, target: 't', source: '127.0.0.1' };
}

const entries = [
  at('2026-12-01T10:00:59', 'agent_token.revoke', 'user:alice'),
  at('2026-12-01T10:01:00', 'user.create', 'ximp_cli_admin'),
  at('2026-12-01T09:00:00', 'agent_token.create', 'oidc:Bob'),
];

t.test('the API gets the start of the range (as UTC) and the limit; nothing else', async (t) => {
  t.equal(auditQuery(none), `?limit=${AUDIT_LIMIT}`);
  const q = new URLSearchParams(auditQuery({ ...none, from: '2026-12-01T09:30', action: 'x', actor: 'y', to: '2026-12-02T00:00' }));
  t.equal(q.get('since'), new Date('2026-12-01T09:30').toISOString());
  t.same([...q.keys()], ['since', 'limit']);
});

t.test('action, actor (any case, a part) and the end of the range filter here', async (t) => {
  t.same(filterAudit(entries, none), entries);
  t.same(filterAudit(entries, { ...none, action: 'agent_token.revoke' }), [entries[0]]);
  t.same(filterAudit(entries, { ...none, actor: ' bob ' }), [entries[2]]);
  t.same(filterAudit(entries, { ...none, actor: 'USER:' }), [entries[0]]);
  // An end to the minute takes in that whole minute and nothing after it.
  t.same(filterAudit(entries, { ...none, to: '2026-12-01T10:00' }), [entries[0], entries[2]]);
  t.same(filterAudit(entries, { ...none, to: '2026-12-01T10:00:30' }), [entries[2]]);
  t.same(filterAudit(entries, { ...none, to: '2026-12-01T10:00', actor: 'alice', action: 'user.create' }), []);
});

t.test('the action choices hold the known ones and any other seen, sorted, once each', async (t) => {
  const options = actionOptions([...entries, at('2026-12-01T11:00:00', 'future.thing', 'system')]);
  t.ok(options.includes('future.thing'));
  t.ok(options.includes('session.login_failed'));
  t.equal(options.filter((o) => o === 'user.create').length, 1);
  t.same(options, [...options].sort());
});

t.test('a range that ends before it starts, or is not a time, is named', async (t) => {
  t.equal(rangeProblem(none), null);
  t.equal(rangeProblem({ ...none, from: '2026-12-01T10:00', to: '2026-12-01T10:00' }), null);
  t.equal(rangeProblem({ ...none, from: '2026-12-01T10:00', to: '2026-12-01T09:59' }), 'To is before From');
  t.equal(rangeProblem({ ...none, from: 'yesterday' }), 'From: not a time');
  t.equal(rangeProblem({ ...none, to: 'soon' }), 'To: not a time');
});
