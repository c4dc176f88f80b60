import t from 'tap';
import { identityFromClaims } from '../src/web/oidc-identity';

const CONFIG = {
  roleClaim: 'groups',
  roleMap: { viewers: 'monitoring-viewer', editors: 'monitoring-editor', ops: 'monitoring-admin' } as const,
  nodeScopes: { 'web-team': 'web-*', 'db-team': 'db-0?' },
  nameClaim: null,
};

t.test('the most privileged mapped role wins, whatever the order', async (t) => {
  t.equal(identityFromClaims({ sub: 's1', groups: ['viewers', 'ops', 'editors'] }, CONFIG)?.role, 'monitoring-admin');
  t.equal(identityFromClaims({ sub: 's1', groups: ['editors', 'viewers', 'unmapped'] }, CONFIG)?.role, 'monitoring-editor');
  t.equal(identityFromClaims({ sub: 's1', groups: 'viewers' }, CONFIG)?.role, 'monitoring-viewer', 'a single string is one value');
});

t.test('no mapped value, a missing claim or one of another type: no role', async (t) => {
  t.equal(identityFromClaims({ sub: 's1', groups: ['staff'] }, CONFIG)?.role, null);
  t.equal(identityFromClaims({ sub: 's1' }, CONFIG)?.role, null);
  t.equal(identityFromClaims({ sub: 's1', groups: { ops: true } }, CONFIG)?.role, null);
  t.equal(identityFromClaims({ sub: 's1', groups: ['__proto__', 'constructor', 'toString'] }, CONFIG)?.role, null, 'no inherited keys');
});

t.test('node scopes of every matching value are joined; none = every node', async (t) => {
  t.equal(identityFromClaims({ sub: 's1', groups: ['viewers'] }, CONFIG)?.nodes, null);
  t.equal(identityFromClaims({ sub: 's1', groups: ['viewers', 'web-team'] }, CONFIG)?.nodes, 'web-*');
  t.equal(identityFromClaims({ sub: 's1', groups: ['db-team', 'viewers', 'web-team'] }, CONFIG)?.nodes, 'db-0?,web-*');
});

t.test('the name: name_claim or preferred_username, then email, then sub', async (t) => {
  t.equal(identityFromClaims({ sub: 's1', preferred_username: 'alice', email: 'a@x' }, CONFIG)?.name, 'alice');
  t.equal(identityFromClaims({ sub: 's1', email: 'a@x' }, CONFIG)?.name, 'a@x');
  t.equal(identityFromClaims({ sub: 's1', preferred_username: '' }, CONFIG)?.name, 's1');
  t.equal(identityFromClaims({ sub: 's1', preferred_username: 'bad\nname' }, CONFIG)?.name, 's1', 'no control characters');
  t.equal(identityFromClaims({ sub: 's1', upn: 'ALICE', email: 'a@x' }, { ...CONFIG, nameClaim: 'upn' })?.name, 'ALICE');
  t.equal(identityFromClaims({ sub: 's1', email: 'a@x' }, { ...CONFIG, nameClaim: 'upn' })?.name, 'a@x');
  t.equal(identityFromClaims({ groups: ['ops'] }, CONFIG), null, 'nobody named: no identity');
  t.equal(identityFromClaims({ sub: 's1', preferred_username: 'alice', name: 'Alice Liddell' }, CONFIG)?.displayName, 'Alice Liddell');
  t.equal(identityFromClaims({ sub: 's1', preferred_username: 'alice' }, CONFIG)?.displayName, 'alice');
});
