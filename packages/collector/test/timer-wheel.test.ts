import t from 'tap';
import { TimerWheel, type WheelMember } from '../src/ingest/timer-wheel';
import { DeadlineQueue, type DeadlineMember } from '../src/ingest/deadline-queue';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function member(visits: number[], started: number): WheelMember {
  return { wheelSlot: -1, onWheelTick: () => visits.push(performance.now() - started) };
}

t.test('a wheel visits each member once per period, the first visit a period after it joined', async (t) => {
  const wheel = new TimerWheel(400);
  const started = performance.now();
  const visits = Array.from({ length: 50 }, () => [] as number[]);
  const members = visits.map((v) => member(v, started));
  for (const m of members) wheel.add(m);
  wheel.add(members[0]); // twice: still once
  t.equal(wheel.size, 50);
  await sleep(1000);
  for (const m of members) wheel.remove(m);
  t.equal(wheel.size, 0);
  t.ok(visits.every((v) => v.length === 2), `two visits each in 1 s (${visits.map((v) => v.length).join(',')})`);
  t.ok(visits.every((v) => v[0] >= 300 && v[1] - v[0] >= 300), 'about a period apart, the first after about a period');
  const after = visits.map((v) => v.length);
  await sleep(600);
  t.same(visits.map((v) => v.length), after, 'a removed member is not visited');
});

t.test('a member that throws does not stop the others; errors go to onError', async (t) => {
  const errors: unknown[] = [];
  const wheel = new TimerWheel(100, (err) => errors.push(err));
  let visited = 0;
  const bad: WheelMember = { wheelSlot: -1, onWheelTick: () => { throw new Error('boom'); } };
  const good: WheelMember = { wheelSlot: -1, onWheelTick: () => void visited++ };
  wheel.add(bad);
  wheel.add(good);
  await sleep(250);
  wheel.remove(bad);
  wheel.remove(good);
  t.ok(visited >= 1);
  t.ok(errors.length >= 1);
});

t.test('a deadline queue fires each member once at its deadline, unless removed', async (t) => {
  const queue = new DeadlineQueue(150);
  const started = performance.now();
  const fired: [string, number][] = [];
  const make = (name: string): DeadlineMember => ({ onDeadline: () => fired.push([name, performance.now() - started]) });
  const a = make('a');
  const b = make('b');
  const c = make('c');
  queue.add(a);
  await sleep(50);
  queue.add(b);
  queue.add(c);
  queue.remove(a); // the head goes: the armed timer re-arms for b
  await sleep(400);
  t.same(fired.map(([n]) => n), ['b', 'c']);
  t.ok(fired.every(([, at]) => at >= 190), `at their deadlines (${fired.map(([, at]) => Math.round(at)).join(',')} ms)`);
  t.equal(queue.size, 0);
});
