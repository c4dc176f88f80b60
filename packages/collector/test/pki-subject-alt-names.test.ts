import t from 'tap';
import { defaultSubjectAltNames, ipToBinaryString, parseSubjectAltName } from '../src/pki/subject-alt-names';

t.test('classifies DNS names and IP addresses', async (t) => {
  t.same(parseSubjectAltName('Mon.Example.NET.'), { type: 'dns', value: 'mon.example.net' });
  t.same(parseSubjectAltName('*.example.net'), { type: 'dns', value: '*.example.net' });
  t.same(parseSubjectAltName('192.168.0.1'), { type: 'ip', value: '192.168.0.1' });
  t.same(parseSubjectAltName('[FD00:0::1]'), { type: 'ip', value: 'fd00::1' });
  for (const bad of ['', 'under_score', '-lead.example', 'a..b', 'sp ace', '*', '*.com.', 'x'.repeat(64) + '.net']) {
    t.equal(parseSubjectAltName(bad), null, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('default SANs: hostnames first, then the machine, localhost and loopback, no duplicates', async (t) => {
  t.same(defaultSubjectAltNames(['mon.example.net', '10.0.0.5', 'localhost'], 'Machine-A'), [
    { type: 'dns', value: 'mon.example.net' },
    { type: 'ip', value: '10.0.0.5' },
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'machine-a' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ]);
  t.same(
    defaultSubjectAltNames([], 'bad_name').map((s) => s.value),
    ['localhost', '127.0.0.1', '::1'],
    'a host name outside DNS syntax is left out',
  );
  t.throws(() => defaultSubjectAltNames(['not a name'], 'm'), { code: 'XIMP_ERR_CLI_USAGE' });
});

t.test('IP addresses become network-order bytes', async (t) => {
  const hex = (ip: string): string => Buffer.from(ipToBinaryString(ip), 'binary').toString('hex');
  t.equal(hex('127.0.0.1'), '7f000001');
  t.equal(hex('::1'), '00000000000000000000000000000001');
  t.equal(hex('fd00::7'), 'fd000000000000000000000000000007');
  t.equal(hex('2001:db8:1:2:3:4:5:6'), '20010db8000100020003000400050006');
  t.equal(hex('::ffff:10.0.0.1'), '00000000000000000000ffff0a000001');
  t.equal(hex('fe80::'), 'fe800000000000000000000000000000');
  t.throws(() => ipToBinaryString('nope'), { code: 'XIMP_ERR_PKI_INVALID' });
});
