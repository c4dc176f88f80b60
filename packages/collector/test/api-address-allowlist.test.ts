import t from 'tap';
import { AddressAllowlist } from '../dist/api/address-allowlist';

t.test('empty list allows every address', async (t) => {
  const all = new AddressAllowlist([]);
  t.ok(all.allows('203.0.113.5'));
  t.ok(all.allows('::1'));
});

t.test('CIDR blocks, bare addresses, IPv4-mapped IPv6', async (t) => {
  const list = new AddressAllowlist(['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
  t.ok(list.allows('10.1.2.3'));
  t.ok(list.allows('::ffff:10.1.2.3'), 'a dual-stack socket reports IPv4 callers mapped');
  t.ok(list.allows('192.0.2.7'));
  t.notOk(list.allows('192.0.2.8'));
  t.ok(list.allows('fd12::1'));
  t.notOk(list.allows('fe80::1'));
  t.notOk(list.allows('127.0.0.1'));
  t.notOk(list.allows(undefined), 'an unknown address is refused');
  t.notOk(list.allows('not-an-ip'));
});

t.test('a bad entry is a config error', async (t) => {
  for (const bad of ['10.0.0.0/33', 'example.net', '10.0.0.0/x', '']) {
    t.throws(() => new AddressAllowlist([bad]), { code: 'XIMP_ERR_CONFIG_INVALID' }, bad);
  }
});
