/** SPEC §15 sign-in: one answer for every failure, rate limits per name and per address, audited with the reason. */
import t from 'tap';
import { startApi } from './helpers/api-harness';
import { login, readyUser } from './helpers/web-sign-in';

t.test('unknown name, wrong password and disabled user get one answer; the audit entry tells them apart', async (t) => {
  const h = await startApi(t);
  const password = await readyUser(h, 'alice', 'monitoring-viewer');
  await readyUser(h, 'olga', 'monitoring-viewer');
  h.deps.users!.disable('olga', Date.now());

  const unknown = await login(h, 'mallory', 'guess-number-one');
  const wrong = await login(h, 'alice', 'guess-number-two');
  const disabled = await login(h, 'olga', 'olga-chosen-password-1');
  for (const res of [unknown, wrong, disabled]) {
    t.equal(res.status, 401);
    t.same(res.json, unknown.json, 'the same body');
    t.equal(res.headers['set-cookie'], undefined);
  }
  t.equal(unknown.json.error, 'invalid_credentials');
  const typo = await login(h, 'Alice Password123!', 'x');
  t.equal(typo.status, 401);
  const ok = await login(h, 'alice', password);
  t.equal(ok.status, 200);

  const entries = h.deps.audit.list();
  const failed = entries.filter((e) => e.action === 'session.login_failed').reverse();
  t.same(
    failed.map((e) => [e.target, e.reason, e.source, e.actor]),
    [
      ['mallory', 'unknown_user', '127.0.0.1', 'anonymous'],
      ['alice', 'bad_password', '127.0.0.1', 'anonymous'],
      ['olga', 'disabled', '127.0.0.1', 'anonymous'],
      ['(invalid name)', 'unknown_user', '127.0.0.1', 'anonymous'],
    ],
  );
  t.match(entries.find((e) => e.action === 'session.login'), { actor: 'user:alice', target: 'alice', source: '127.0.0.1' });
  t.notOk('reason' in entries.find((e) => e.action === 'session.login')!, 'a success has no reason');
  const everything = JSON.stringify(entries) + h.logText();
  for (const secret of [password, 'guess-number-one', 'guess-number-two', 'olga-chosen-password-1', 'Password123', ok.json.csrf_token]) {
    t.notOk(everything.includes(secret), 'no password or token in the audit log or the logs');
  }
  t.match(h.logText(), /dashboard sign-in refused/);
  t.equal(h.server.refusalTotals().get('dashboard_sign_in_refused'), 4, 'every refusal counted for /metrics');
});

t.test('ten failures per name: the eleventh attempt is refused with 429 even from fresh addresses', async (t) => {
  const h = await startApi(t);
  const password = await readyUser(h, 'alice', 'monitoring-viewer');
  for (let i = 0; i < 10; i++) {
    const res = await login(h, 'alice', `wrong-${i}`, `127.0.0.${i + 2}`);
    t.equal(res.status, 401, `failure ${i + 1}`);
  }
  const limited = await login(h, 'alice', password, '127.0.0.40');
  t.equal(limited.status, 429, 'the right password is not even checked');
  t.equal(limited.json.error, 'rate_limited');
  const retry = Number(limited.headers['retry-after']);
  t.ok(retry > 800 && retry <= 900, `Retry-After within 15 minutes (${retry})`);
  t.equal(limited.headers['set-cookie'], undefined);
  t.equal((await login(h, 'alice', password, '127.0.0.41')).status, 429);
  const other = await readyUser(h, 'bob', 'monitoring-viewer');
  t.equal((await login(h, 'bob', other, '127.0.0.40')).status, 200, 'another name is not held back');
  const limitedEntries = h.deps.audit.list().filter((e) => e.reason === 'rate_limited');
  t.equal(limitedEntries.length, 2, 'audited once per name and address a minute');
  t.match(limitedEntries[1], { action: 'session.login_failed', target: 'alice', source: '127.0.0.40' });
});

t.test('ten failures per address: the eleventh attempt from it is refused, other addresses are not', async (t) => {
  let clock = Date.parse('2026-12-01T08:00:00Z');
  const h = await startApi(t);
  h.deps.now = () => clock;
  const password = await readyUser(h, 'carol', 'monitoring-viewer');
  for (let i = 0; i < 10; i++) t.equal((await login(h, `name-${i}`, 'whatever', '127.0.0.20')).status, 401);
  const limited = await login(h, 'carol', password, '127.0.0.20');
  t.equal(limited.status, 429);
  t.equal(limited.headers['retry-after'], '900');
  t.equal((await login(h, 'carol', password, '127.0.0.21')).status, 200, 'the same user from elsewhere signs in');
  clock += 15 * 60_000;
  t.equal((await login(h, 'carol', password, '127.0.0.20')).status, 200, 'after 15 minutes the address may try again');
});
