import t from 'tap';
import { generateAgentToken, hashSecret, isAgentTokenId, parseAgentToken, secretMatches } from '../src/auth/agent-token';
import { randomAlphanumeric } from '../src/auth/secret-hash';

t.test('token string format', async (t) => {
  const { id, secret, token } = generateAgentToken();
  t.match(id, /^[a-z0-9]{12}$/);
  t.match(secret, /^[a-z0-9]{52}$/);
  t.equal(token, `ximp_${id}_${secret}`);
  t.match(token, /^ximp_[a-z0-9]{12}_[a-z0-9]{52}$/);
  t.ok(isAgentTokenId(id));
  t.notOk(isAgentTokenId(`${id}x`));
  // 52 characters of a 36-letter alphabet carry at least 256 bits.
  t.ok(52 * Math.log2(36) >= 256);
});

t.test('tokens are unique and characters are uniform (no modulo bias)', async (t) => {
  const ids = new Set<string>();
  const counts: Record<string, number> = {};
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const g = generateAgentToken();
    ids.add(g.id);
    for (const c of g.secret) counts[c] = (counts[c] ?? 0) + 1;
  }
  t.equal(ids.size, n, 'no id repeats');
  const letters = Object.keys(counts);
  t.equal(letters.length, 36, 'every character of [a-z0-9] occurs');
  // Chi-square over 36 buckets (35 degrees of freedom): the 99.99th percentile is about 77.
  const expected = (n * 52) / 36;
  const chi = letters.reduce((sum, c) => sum + (counts[c] - expected) ** 2 / expected, 0);
  t.ok(chi < 80, `chi-square ${chi.toFixed(1)} within bounds`);
  // A biased generator (byte % 36 without rejection) would favour 'a'..'d' by about 14 %.
  const firstFour = ['a', 'b', 'c', 'd'].reduce((sum, c) => sum + counts[c], 0) / 4;
  const rest = letters.filter((c) => !'abcd'.includes(c)).reduce((sum, c) => sum + counts[c], 0) / 32;
  t.ok(Math.abs(firstFour / rest - 1) < 0.05, 'no excess on the first letters');
});

t.test('randomAlphanumeric gives exact lengths', async (t) => {
  for (const len of [0, 1, 12, 52, 200]) t.equal(randomAlphanumeric(len).length, len);
});

t.test('parseAgentToken is strict', async (t) => {
  const { id, secret, token } = generateAgentToken();
  t.same(parseAgentToken(token), { id, secret });
  const bad = [
    '',
    `ximp_${id}_${secret}x`,
    `ximp_${id}_${secret.slice(1)}`,
    `ximp_${id.slice(1)}_${secret}`,
    `XIMP_${id}_${secret}`,
    `ximp_${id.toUpperCase()}_${secret}`,
    ` ${token}`,
    `${token}\n`,
    `Bearer ${token}`,
    `ximp-${id}-${secret}`,
    `ximp_${id}_${secret.slice(0, 51)}-`,
    `ximp_${id}__${secret}`,
  ];
  for (const b of bad) t.equal(parseAgentToken(b), null, JSON.stringify(b).slice(0, 30));
  t.equal(parseAgentToken(undefined as unknown as string), null);
  t.equal(parseAgentToken(42 as unknown as string), null);
});

t.test('hash and constant-time comparison', async (t) => {
  const { secret } = generateAgentToken();
  const h = hashSecret(secret);
  t.equal(h.length, 32, 'SHA-256');
  t.same(hashSecret(secret), h, 'deterministic');
  t.notOk(h.toString('latin1').includes(secret));
  t.ok(secretMatches(secret, h));
  t.notOk(secretMatches(secret.slice(0, 51) + (secret[51] === 'a' ? 'b' : 'a'), h));
  t.notOk(secretMatches('', h));
  t.notOk(secretMatches(secret, h.subarray(0, 16)), 'a short hash never matches (and does not throw)');
});
