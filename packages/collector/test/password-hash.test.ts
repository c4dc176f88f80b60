/** scrypt password hashes (SPEC §15): the stored form, verification, and no shortcut for unknown names. */
import t from 'tap';
import { hashPassword, verifyNoPassword, verifyPassword } from '../dist/web/password-hash';

t.test('one string with the parameters, salt and key; a fresh salt each time', async (t) => {
  const a = await hashPassword('correct horse battery');
  const b = await hashPassword('correct horse battery');
  t.match(a, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  t.not(a, b, 'salted');
  t.equal(await verifyPassword('correct horse battery', a), true);
  t.equal(await verifyPassword('correct horse battery', b), true);
  t.equal(await verifyPassword('correct horse batterY', a), false);
  t.equal(await verifyPassword('', a), false);
});

t.test('a damaged or foreign stored value matches nothing', async (t) => {
  const good = await hashPassword('pw-pw-pw-pw-pw');
  for (const bad of ['', 'plain', good.replace('$15$', '$30$'), good.replace('$8$1$', '$1$1$'), good.slice(0, -1), `${good}x`]) {
    t.equal(await verifyPassword('pw-pw-pw-pw-pw', bad), false, JSON.stringify(bad.slice(0, 20)));
  }
});

t.test('checking an unknown name costs a real derivation', async (t) => {
  const stored = await hashPassword('the real one');
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 3; i++) await fn();
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const wrong = await time(() => verifyPassword('a wrong one', stored));
  const unknown = await time(() => verifyNoPassword('a wrong one'));
  t.equal(await verifyNoPassword('the real one'), false);
  // Without the dummy check the unknown name would answer in microseconds; allow for a busy machine.
  t.ok(unknown > wrong * 0.3, `unknown ${unknown.toFixed(0)} ms vs wrong password ${wrong.toFixed(0)} ms for 3 checks`);
});
