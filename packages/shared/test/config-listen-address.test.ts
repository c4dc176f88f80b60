import t from 'tap';
import { parseCidr, formatCidr } from '../src/config/cidr';
import { formatListenAddress, parseListenAddress } from '../src/config/listen-address';

t.test('host:port, IPv4 and names', async (t) => {
  t.same(parseListenAddress('0.0.0.0:4443'), { host: '0.0.0.0', port: 4443 });
  t.same(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 }, 'port 0 picks a free port');
  t.same(parseListenAddress('collector.example.net:65535'), { host: 'collector.example.net', port: 65535 });
});

t.test('IPv6 in brackets', async (t) => {
  t.same(parseListenAddress('[::1]:4443'), { host: '::1', port: 4443 });
  t.same(parseListenAddress('[::]:0'), { host: '::', port: 0 });
  t.equal(formatListenAddress({ host: '::1', port: 4443 }), '[::1]:4443');
  t.equal(formatListenAddress({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
});

t.test('rejects bad addresses', async (t) => {
  for (const bad of ['', '4443', ':4443', 'host:', 'host:65536', 'host:-1', 'host:44a', '::1:4443', '[::1]', '[zz]:1', '[::1]4443', 'bad_host:1', 'a b:1', 'host:123456']) {
    t.equal(parseListenAddress(bad), null, JSON.stringify(bad));
  }
});

t.test('CIDR blocks, IPv4 and IPv6', async (t) => {
  t.same(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  t.equal(formatCidr(parseCidr('127.0.0.1')!), '127.0.0.1/32', 'a bare address is a block of one');
  t.equal(formatCidr(parseCidr('::1')!), '::1/128');
  for (const bad of ['', '10.0.0.0/33', '::/129', '10.0.0/8', '10.0.0.0/', '10.0.0.0/x', 'example.net/8', '300.0.0.0/8', '10.0.0.0/8/8']) {
    t.equal(parseCidr(bad), null, JSON.stringify(bad));
  }
});
