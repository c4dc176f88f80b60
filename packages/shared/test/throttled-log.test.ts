import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger, ThrottledLog } from '@ximp/shared';

function harness(maxKeys?: number) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  let clock = 1_000_000;
  const log = createLogger({ name: 't', destination: sink });
  const throttled = new ThrottledLog({ log, now: () => clock, windowMs: 60_000, maxKeys });
  return { lines, throttled, advance: (ms: number) => (clock += ms) };
}

t.test('one line per kind and key per window, carrying the folded count', async (t) => {
  const h = harness();
  for (let i = 0; i < 100; i++) h.throttled.report('warn', 'refused', { remote: '10.0.0.1' }, 'agent connection refused', '10.0.0.1');
  h.throttled.report('warn', 'refused', { remote: '10.0.0.2' }, 'agent connection refused', '10.0.0.2');
  await new Promise((r) => setImmediate(r));
  t.equal(h.lines.length, 2, 'one line for each address');
  t.equal(h.lines[0].count, 1);
  h.advance(60_000);
  h.throttled.report('warn', 'refused', { remote: '10.0.0.1' }, 'agent connection refused', '10.0.0.1');
  await new Promise((r) => setImmediate(r));
  t.equal(h.lines.length, 3);
  t.equal(h.lines[2].count, 100, 'the next line says how many were folded since the last one');
  t.equal(h.throttled.total('refused'), 102, 'every event is counted by kind');
  t.same([...h.throttled.totalsByKey().keys()], ['refused'], 'totals are kept per kind, not per address');
});

t.test('remembers at most maxKeys keys', async (t) => {
  const h = harness(2);
  h.throttled.report('error', 'fault', {}, 'f', 'a');
  h.throttled.report('error', 'fault', {}, 'f', 'b');
  h.throttled.report('error', 'fault', {}, 'f', 'c'); // forgets a
  h.throttled.report('error', 'fault', {}, 'f', 'a'); // logged again: a was forgotten
  h.throttled.report('error', 'fault', {}, 'f', 'c'); // still throttled
  await new Promise((r) => setImmediate(r));
  t.equal(h.lines.length, 4);
});
