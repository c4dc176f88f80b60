import t from 'tap';
import { scheduleAt } from '../src/ingest/schedule-at';

t.test('fires at the instant, even when past the setTimeout cap', async (t) => {
  const realSetTimeout = globalThis.setTimeout;
  const waits: number[] = [];
  let clock = 0;
  const pending: (() => void)[] = [];
  // A fake timer queue: each timer advances the fake clock by the delay it asked for.
  globalThis.setTimeout = ((fn: () => void, ms: number) => {
    waits.push(ms);
    pending.push(() => {
      clock += ms;
      fn();
    });
    return { unref() {} } as unknown as NodeJS.Timeout;
  }) as unknown as typeof setTimeout;
  t.teardown(() => {
    globalThis.setTimeout = realSetTimeout;
  });
  let fired = 0;
  const yearMs = 365 * 24 * 3600 * 1000;
  scheduleAt(yearMs, () => clock, () => fired++);
  while (pending.length) pending.shift()!();
  t.equal(fired, 1, 'fired once');
  t.equal(clock, yearMs, 'exactly at the instant');
  t.ok(waits.every((w) => w <= 2 ** 31 - 1), 'no single timer exceeds the cap');
  t.ok(waits.length > 1, 'a far deadline is reached in steps');
});

t.test('cancel prevents firing; a past instant fires at once', async (t) => {
  let fired = 0;
  const cancel = scheduleAt(Date.now() + 50, Date.now, () => fired++);
  cancel();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fired, 0);
  scheduleAt(Date.now() - 1, Date.now, () => fired++);
  t.equal(fired, 1);
});
