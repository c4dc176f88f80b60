import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { PeriodicTask } from '../src/periodic-task';

t.test('runs at start and then every period; stop ends it', async (t) => {
  let runs = 0;
  const task = new PeriodicTask({ run: () => void runs++, everyMs: 20, onError: () => t.fail('no error') });
  task.start();
  task.start();
  t.equal(runs, 1, 'once at start, however often start is called');
  await sleep(110);
  task.stop();
  const seen = runs;
  t.ok(seen >= 2 && seen <= 7, `about every 20 ms (${seen} runs in 110 ms)`);
  await sleep(60);
  t.equal(runs, seen, 'no run after stop');
});

t.test('a slow run is never overlapped; runNow during it waits for it', async (t) => {
  let active = 0;
  let most = 0;
  let runs = 0;
  const task = new PeriodicTask({
    run: async () => {
      runs++;
      active++;
      most = Math.max(most, active);
      await sleep(50);
      active--;
    },
    everyMs: 5,
    onError: () => undefined,
  });
  task.start();
  const joined = task.runNow();
  await joined;
  t.equal(runs, 1, 'runNow joined the run in progress');
  await sleep(120);
  task.stop();
  await task.idle();
  t.equal(most, 1, 'never two at once');
});

t.test('errors and rejections go to onError and the task keeps running', async (t) => {
  const errors: string[] = [];
  let runs = 0;
  const task = new PeriodicTask({
    run: () => {
      runs++;
      if (runs === 1) throw new Error('sync boom');
      if (runs === 2) return Promise.reject(new Error('async boom'));
      return undefined;
    },
    everyMs: 10,
    runAtStart: false,
    onError: (err) => errors.push((err as Error).message),
  });
  task.start();
  t.equal(runs, 0, 'runAtStart: false waits a period');
  await sleep(80);
  task.stop();
  t.same(errors, ['sync boom', 'async boom']);
  t.ok(runs >= 3, 'and ran again after them');
});

t.test('jitter lengthens each wait by up to that share of the period', async (t) => {
  const at = (jitter: number, random: number) => new PeriodicTask({ run: () => undefined, everyMs: 1000, jitter, random: () => random, onError: () => undefined }).nextWaitMs();
  t.equal(at(0, 0.9), 1000, 'no jitter: the period');
  t.equal(at(0.1, 0), 1000);
  t.equal(at(0.1, 0.5), 1050);
  t.equal(at(0.1, 1), 1100);
  t.equal(at(5, 1), 2000, 'jitter is capped at one period');
});

t.test('stopped and started again while a timed run is in progress: one chain of runs, not two', async (t) => {
  let runs = 0;
  let release: () => void = () => undefined;
  const task = new PeriodicTask({
    run: () => {
      runs++;
      if (runs === 1) return new Promise<void>((resolve) => (release = resolve));
    },
    everyMs: 30,
    runAtStart: false,
    onError: () => t.fail('no error'),
  });
  task.start();
  await sleep(45); // the first timed run is in progress, held
  t.equal(runs, 1);
  task.stop();
  task.start(); // waits a period again
  release(); // the held run ends: its chain must not carry on beside the new one
  await sleep(200);
  task.stop();
  // One chain runs about every 30 ms (at most 7 runs more in 200 ms, fewer on a busy machine); two
  // chains run about twice as often (12 measured).
  t.ok(runs - 1 >= 1 && runs - 1 <= 8, `one run per period (${runs - 1} runs in 200 ms)`);
});
