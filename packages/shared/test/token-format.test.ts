import t from 'tap';
import {
  AGENT_TOKEN_FORM,
  TOKEN_ID_LENGTH,
  TOKEN_SECRET_LENGTH,
  isAccessToken,
  isAgentToken,
  isAgentTokenId,
  isApiClientId,
  isApiClientSecret,
  parseAgentToken,
  redactSecrets,
} from '../src/token-format';

const ID = 'abcdefghij01';
const SECRET = '0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef';

t.test('agent tokens are ximp_<12 [a-z0-9]>_<52 [a-z0-9]> (SPEC §4)', async (t) => {
  t.equal(ID.length, TOKEN_ID_LENGTH);
  t.equal(SECRET.length, TOKEN_SECRET_LENGTH);
  const token = `ximp_${ID}_${SECRET}`;
  t.ok(isAgentToken(token));
  t.same(parseAgentToken(token), { id: ID, secret: SECRET });
  t.ok(isAgentTokenId(ID));
  for (const bad of [
    `ximp_${ID}_${SECRET}x`,
    `ximp_${ID}_${SECRET.slice(1)}`,
    `ximp_${ID}x_${SECRET}`,
    `ximp_${ID.slice(1)}_${SECRET}`,
    `ximp_${ID.toUpperCase()}_${SECRET}`,
    `XIMP_${ID}_${SECRET}`,
    ` ximp_${ID}_${SECRET}`,
    `ximp_${ID}_${SECRET}\n`,
    `ximp-${ID}-${SECRET}`,
    '',
  ]) {
    t.notOk(isAgentToken(bad), 'refused');
    t.equal(parseAgentToken(bad), null, 'not parsed');
  }
  for (const notText of [undefined, null, 1, [`ximp_${ID}_${SECRET}`]]) {
    t.notOk(isAgentToken(notText));
    t.equal(parseAgentToken(notText), null);
    t.notOk(isAgentTokenId(notText));
  }
  for (const bad of ['abcdefghij0', 'abcdefghij012', 'ABCDEFGHIJ01', 'abcdefghij_1']) t.notOk(isAgentTokenId(bad), bad);
  t.notOk(AGENT_TOKEN_FORM.includes(SECRET));
});

t.test('API client ids and secrets, access tokens', async (t) => {
  t.ok(isApiClientId(`xc_${ID}`));
  t.notOk(isApiClientId(`xc_${ID}0`));
  t.notOk(isApiClientId(ID));
  t.ok(isApiClientSecret(`xcs_${SECRET}`));
  t.notOk(isApiClientSecret(`xcs_${SECRET.slice(1)}`));
  t.notOk(isApiClientSecret(`xat_${SECRET}`));
  t.ok(isAccessToken(`xat_${SECRET}`));
  t.notOk(isAccessToken(`xat_${SECRET.toUpperCase()}`));
  t.notOk(isAccessToken(`xcs_${SECRET}`));
  t.notOk(isApiClientSecret(undefined));
  t.notOk(isAccessToken(null));
});

t.test('redaction hides every secret-shaped part, also malformed ones', async (t) => {
  const text = `a ximp_${ID}_${SECRET} b xcs_${SECRET} c xat_${SECRET} d ximp_Short_Cut e xcs_x`;
  const redacted = redactSecrets(text);
  t.equal(redacted, 'a [redacted] b [redacted] c [redacted] d [redacted] e [redacted]');
  t.equal(redactSecrets('node-a abcdefghij01 xc_abcdefghij01'), 'node-a abcdefghij01 xc_abcdefghij01', 'ids stay readable');
  t.equal(redactSecrets(`ximp_${ID}_${SECRET}`, (s) => `${s.slice(0, 4)}<hidden>`), 'ximp<hidden>');
  t.equal(redactSecrets('x ximp_a_b x', '$&'), 'x $& x', 'a replacement string is literal');
});
