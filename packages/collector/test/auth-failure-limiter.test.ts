import t from 'tap';
import { AuthFailureLimiter } from '../src/ingest/auth-failure-limiter';

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
