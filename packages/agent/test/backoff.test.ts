import t from 'tap';
import { Backoff } from '../src/backoff';

/** A random source that always returns `r`. */
const fixed = (r: number) => () => r;

t.test('next() ceilings double from initialMs and stop at maxMs', async (t) => {
  const b = new Backoff({ initialMs: 1000, maxMs: 60_000, random: fixed(1 - 1e-12) });
  const delays = Array.from({ length: 9 }, () => b.next());
  // random() just below 1 gives the ceiling minus a rounding step.
  t.same(delays, [999, 1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999, 59_999]);
  t.equal(b.attempts, 9);
});

t.test('full jitter: random 0 gives 0 and each delay is random() × ceiling', async (t) => {
  t.equal(new Backoff({ random: fixed(0) }).next(), 0);
  const sequence = [0.5, 0.25, 0.75, 0.1];
  let i = 0;
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => sequence[i++] });
  t.same([b.next(), b.next(), b.next(), b.next()], [50, 50, 300, 80]);
});

t.test('defaults are 1 s to 60 s and delays stay within [0, ceiling)', async (t) => {
  const outside: string[] = [];
  for (let run = 0; run < 50; run++) {
    const b = new Backoff();
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(60_000, 1000 * 2 ** attempt);
      const d = b.next();
      if (!(d >= 0 && d < ceiling && Number.isInteger(d))) outside.push(`attempt ${attempt}: ${d}`);
    }
  }
  t.same(outside, []);
});

t.test('many attempts never overflow to Infinity or NaN', async (t) => {
  const b = new Backoff({ initialMs: 1000, maxMs: 60_000, random: fixed(0.5) });
  for (let i = 0; i < 5000; i++) b.next();
  t.equal(b.next(), 30_000);
});

t.test('reset() starts again from initialMs', async (t) => {
  const b = new Backoff({ initialMs: 1000, maxMs: 60_000, random: fixed(0.5) });
  b.next();
  b.next();
  b.next();
  t.equal(b.attempts, 3);
  b.reset();
  t.equal(b.attempts, 0);
  t.equal(b.next(), 500);
});

t.test('nextSlow() stays in [maxMs/2, maxMs) from the first attempt', async (t) => {
  t.equal(new Backoff({ maxMs: 60_000, random: fixed(0) }).nextSlow(), 30_000);
  t.equal(new Backoff({ maxMs: 60_000, random: fixed(0.5) }).nextSlow(), 45_000);
  t.equal(new Backoff({ maxMs: 60_000, random: fixed(1 - 1e-12) }).nextSlow(), 59_999);
  const b = new Backoff({ maxMs: 60_000 });
  const delays = Array.from({ length: 200 }, () => b.nextSlow());
  t.same(delays.filter((d) => !(d >= 30_000 && d < 60_000)), []);
  t.equal(b.attempts, 200);
});

t.test('a misbehaving random source is clamped', async (t) => {
  t.equal(new Backoff({ random: fixed(-3) }).next(), 0);
  t.equal(new Backoff({ random: fixed(Number.NaN) }).next(), 0);
  const d = new Backoff({ initialMs: 1000, random: fixed(7) }).next();
  t.ok(d >= 0 && d < 1000, `clamped below the ceiling: ${d}`);
});

t.test('rejects impossible bounds', async (t) => {
  t.throws(() => new Backoff({ initialMs: 0 }), RangeError);
  t.throws(() => new Backoff({ initialMs: 5000, maxMs: 1000 }), RangeError);
});

t.test('jitter spreads a fleet: 1000 agents at attempt 6 do not bunch up', async (t) => {
  // 1000 backoffs with Math.random at the 60 s cap: no one-second bucket holds more than 5 %.
  const buckets = new Array<number>(60).fill(0);
  for (let i = 0; i < 1000; i++) {
    const b = new Backoff();
    for (let k = 0; k < 6; k++) b.next();
    buckets[Math.floor(b.next() / 1000)]++;
  }
  t.ok(Math.max(...buckets) < 50, `largest bucket ${Math.max(...buckets)}`);
});
