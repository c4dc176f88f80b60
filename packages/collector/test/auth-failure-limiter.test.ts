import t from 'tap';
import { AuthFailureLimiter } from '../src/ingest/auth-failure-limiter';
import { addressKey } from '../src/net/address-key';

t.test('more than the limit within the window is limited, per address', async (t) => {
  const limiter = new AuthFailureLimiter(3, 60_000);
  for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 1000 + i);
  t.notOk(limiter.isLimited('10.0.0.1', 2000), 'exactly the limit is still allowed');
  limiter.recordFailure('10.0.0.1', 2000);
  t.ok(limiter.isLimited('10.0.0.1', 2001), 'one more is limited');
  t.notOk(limiter.isLimited('10.0.0.2', 2001), 'another address is not');
  t.ok(limiter.isLimited('10.0.0.1', 60_999), 'still limited inside the window');
  t.notOk(limiter.isLimited('10.0.0.1', 62_001), 'the window slides: old failures expire');
});

t.test('memory stays bounded under many addresses', async (t) => {
  const limiter = new AuthFailureLimiter(1, 60_000, 100);
  for (let i = 0; i < 1000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`, 1000);
  const size = (limiter as unknown as { failures: Map<string, number[]> }).failures.size;
  t.equal(size, 100, 'only the newest addresses are kept');
  limiter.recordFailure('a', 1);
  limiter.recordFailure('a', 2);
  limiter.recordFailure('a', 3);
  const perAddress = (limiter as unknown as { failures: Map<string, number[]> }).failures.get('a')!.length;
  t.equal(perAddress, 2, 'per address it keeps one more than the limit, no more');
});

t.test('addresses are keyed as a peer can change them: IPv4-mapped as IPv4, IPv6 by /64', async (t) => {
  t.equal(addressKey('10.1.2.3'), '10.1.2.3');
  t.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3', 'a dual-stack listener reports IPv4 peers mapped');
  t.equal(addressKey('::FFFF:10.1.2.3'), '10.1.2.3');
  t.equal(addressKey('::ffff:a01:203'), '10.1.2.3', 'the mapped form in hex too');
  t.equal(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.equal(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  t.equal(addressKey('2001:0db8:0001:0002:ffff::1'), '2001:db8:1:2::/64', 'leading zeros do not make a new key');
  t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'the zone is not part of the key');
  t.equal(addressKey('::1'), '0:0:0:0::/64');
  t.equal(addressKey(undefined), 'unknown');
});

t.test('the limiter counts IPv6 by /64 and IPv4-mapped as IPv4', async (t) => {
  const limiter = new AuthFailureLimiter(3, 60_000);
  // A host cycling through the addresses of its /64 is one key.
  for (let i = 1; i <= 4; i++) limiter.recordFailure(`2001:db8:5:6::${i.toString(16)}`, 1000);
  t.ok(limiter.isLimited('2001:db8:5:6:ffff:ffff:ffff:ffff', 1001), 'any address of that /64 is limited');
  t.notOk(limiter.isLimited('2001:db8:5:7::1', 1001), 'the next /64 is not');
  for (let i = 0; i < 4; i++) limiter.recordFailure('::ffff:192.0.2.7', 1000);
  t.ok(limiter.isLimited('192.0.2.7', 1001), 'mapped and plain IPv4 are the same peer');
});

t.test('retryAfterMs says when the key is under the limit again', async (t) => {
  const limiter = new AuthFailureLimiter(2, 60_000);
  limiter.recordFailure('10.0.0.9', 1000);
  limiter.recordFailure('10.0.0.9', 2000);
  t.equal(limiter.retryAfterMs('10.0.0.9', 2500), 0, 'at the limit: no wait');
  limiter.recordFailure('10.0.0.9', 3000);
  t.equal(limiter.retryAfterMs('10.0.0.9', 3000), 58_000, 'over it: until the oldest failure ages out');
  t.notOk(limiter.isLimited('10.0.0.9', 3000 + 58_000));
});

t.test('a limiter keyed by token id', async (t) => {
  const limiter = new AuthFailureLimiter(1, 60_000, 100, (id) => id);
  limiter.recordFailure('abc', 1);
  limiter.recordFailure('abc', 2);
  t.ok(limiter.isLimited('abc', 3));
  t.notOk(limiter.isLimited('abd', 3));
});
