import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, ErrorCodes, type Logger } from '@ximp/shared';
import { createSources, defaultSourceTimeoutMs, Scheduler } from '../src/scheduler';
import { BUILTIN_SOURCES, SOURCE_NAMES } from '../src/sources/index';
import type { CollectContext, SourceInstance } from '../src/sources/source';
import type { Point } from '../src/point';

/** A logger whose JSON lines the test can read. */
function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger({ name: 'test', level: 'debug', destination }), lines };
}

const point = (name: string, value: number): Point => ({ name, labels: {}, value });
const selfMetric = (points: Point[], name: string, source: string): number | undefined =>
  points.find((p) => p.name === name && p.labels.source === source)?.value;

function fake(name: string, collect: (ctx: CollectContext) => Promise<Point[]>): SourceInstance {
  return { name, collect };
}

t.test('defaultSourceTimeoutMs: half the interval, at most 5 s', async (t) => {
  t.equal(defaultSourceTimeoutMs(10_000), 5000);
  t.equal(defaultSourceTimeoutMs(60_000), 5000);
  t.equal(defaultSourceTimeoutMs(2000), 1000);
  t.equal(defaultSourceTimeoutMs(1), 1);
});

t.test('a throwing and a hanging source cost only their own points', async (t) => {
  const { log, lines } = captureLog();
  let hangingSignal: AbortSignal | undefined;
  const sources = [
    fake('good', async () => [point('good_metric', 42)]),
    fake('throws', async () => {
      throw Object.assign(new Error('broken /proc'), { code: ErrorCodes.SOURCE_PARSE });
    }),
    fake('hangs', (ctx) => {
      hangingSignal = ctx.signal;
      return new Promise(() => {});
    }),
    fake('throws-sync', () => {
      throw new Error('not even a promise');
    }),
  ];
  const scheduler = new Scheduler({ sources, timeoutMs: 50, log });
  t.same(scheduler.sourceNames, ['good', 'throws', 'hangs', 'throws-sync']);
  const started = Date.now();
  const points = await scheduler.collectOnce(1_800_000_000_000);
  t.ok(Date.now() - started < 1000, 'the cycle ends at the source deadline');
  t.same(points.filter((p) => !p.name.startsWith('ximp_agent_')), [point('good_metric', 42)]);
  t.equal(selfMetric(points, 'ximp_agent_source_success', 'good'), 1);
  t.equal(selfMetric(points, 'ximp_agent_source_success', 'throws'), 0);
  t.equal(selfMetric(points, 'ximp_agent_source_success', 'hangs'), 0);
  t.equal(selfMetric(points, 'ximp_agent_source_success', 'throws-sync'), 0);
  const hangSeconds = selfMetric(points, 'ximp_agent_source_duration_seconds', 'hangs')!;
  t.ok(hangSeconds >= 0.045 && hangSeconds < 1, `hanging source took its deadline (${hangSeconds}s)`);
  t.ok(selfMetric(points, 'ximp_agent_source_duration_seconds', 'good')! < 0.045);
  t.equal(hangingSignal?.aborted, true, 'the hung source is told to stop');
  const warnings = lines.filter((l) => l.msg === 'source failed');
  t.same(warnings.map((l) => l.source).sort(), ['hangs', 'throws', 'throws-sync']);
  t.equal(warnings.find((l) => l.source === 'hangs')?.code, ErrorCodes.SOURCE_TIMEOUT);
  t.equal(warnings.find((l) => l.source === 'throws')?.code, ErrorCodes.SOURCE_PARSE);
});

t.test('a source started late in its cycle still reports the time from the cycle\'s start to its deadline', async (t) => {
  const sources = [
    fake('blocks', () => {
      // Blocks before returning its promise, as a pause of the process would.
      const until = performance.now() + 30;
      while (performance.now() < until);
      return Promise.resolve([]);
    }),
    fake('hangs', () => new Promise(() => {})),
  ];
  const scheduler = new Scheduler({ sources, timeoutMs: 50, log: createLogger({ name: 'test', level: 'silent' }) });
  const points = await scheduler.collectOnce(1_800_000_000_000);
  t.ok(selfMetric(points, 'ximp_agent_source_duration_seconds', 'blocks')! >= 0.03);
  const hangSeconds = selfMetric(points, 'ximp_agent_source_duration_seconds', 'hangs')!;
  t.ok(hangSeconds >= 0.045 && hangSeconds < 1, `the hanging source reports its deadline (${hangSeconds}s)`);
  t.equal(selfMetric(points, 'ximp_agent_source_success', 'hangs'), 0);
});

t.test('one warning per failure streak; recovery is logged; a still-busy source is not started twice', async (t) => {
  const { log, lines } = captureLog();
  let calls = 0;
  let mode: 'fail' | 'ok' = 'fail';
  let hangCalls = 0;
  let releaseHang: (p: Point[]) => void = () => {};
  const scheduler = new Scheduler({
    sources: [
      fake('flaky', async () => {
        calls++;
        if (mode === 'fail') throw new Error('down');
        return [point('flaky_metric', calls)];
      }),
      fake('slow', () => {
        hangCalls++;
        return new Promise((resolve) => (releaseHang = resolve));
      }),
    ],
    intervalMs: 100, // deadline 50 ms
    log,
  });
  for (let i = 0; i < 3; i++) await scheduler.collectOnce(i);
  t.equal(calls, 3);
  t.equal(hangCalls, 1, 'no second collect beside one still running');
  t.equal(lines.filter((l) => l.msg === 'source failed' && l.source === 'flaky').length, 1);
  t.equal(lines.filter((l) => l.msg === 'source failed' && l.source === 'slow').length, 1);
  t.equal(lines.filter((l) => l.msg === 'source failed again').length, 4);

  mode = 'ok';
  releaseHang([point('late', 1)]);
  await new Promise((r) => setImmediate(r));
  const points = await scheduler.collectOnce(4);
  t.equal(hangCalls, 2, 'a new collect starts once the old one returned');
  t.equal(selfMetric(points, 'ximp_agent_source_success', 'flaky'), 1);
  t.same(points.find((p) => p.name === 'flaky_metric'), point('flaky_metric', 4));
  t.notOk(points.some((p) => p.name === 'late'), 'a late answer is not counted in a later cycle');
  t.same(lines.filter((l) => l.msg === 'source recovered').map((l) => l.source), ['flaky']);

  mode = 'fail';
  await scheduler.collectOnce(5);
  t.equal(lines.filter((l) => l.msg === 'source failed' && l.source === 'flaky').length, 2, 'a new streak warns again');
  releaseHang([]);
});

t.test('a cycle after one that hit its deadline gets a signal that is not aborted', async (t) => {
  const signals: AbortSignal[] = [];
  let hangs = true;
  const scheduler = new Scheduler({
    sources: [
      fake('hangs-once', () => (hangs ? ((hangs = false), new Promise(() => {})) : Promise.resolve([]))),
      fake('quick', async (ctx) => {
        t.equal(ctx.signal.aborted, false, 'a source starts with a live signal');
        signals.push(ctx.signal);
        return [];
      }),
    ],
    timeoutMs: 30,
    log: captureLog().log,
  });
  for (let i = 0; i < 3; i++) await scheduler.collectOnce(i);
  t.same(signals.map((s) => s.aborted), [true, false, false], 'only the cycle that hit its deadline was aborted');
});

t.test('self-metrics name every source, in order, after the data', async (t) => {
  const scheduler = new Scheduler({
    sources: [fake('a', async () => [point('x', 1), point('y', 2)]), fake('b', async () => [])],
    log: captureLog().log,
  });
  const points = await scheduler.collectOnce(0);
  t.same(points.map((p) => [p.name, p.labels.source ?? '']), [
    ['x', ''],
    ['y', ''],
    ['ximp_agent_source_duration_seconds', 'a'],
    ['ximp_agent_source_success', 'a'],
    ['ximp_agent_source_duration_seconds', 'b'],
    ['ximp_agent_source_success', 'b'],
  ]);
  t.ok(points.filter((p) => p.name === 'ximp_agent_source_duration_seconds').every((p) => p.value >= 0 && p.value < 1));
});

t.test('createSources respects the list', async (t) => {
  t.same(SOURCE_NAMES, ['cpu', 'memory', 'load', 'filesystem', 'disk', 'network', 'uptime']);
  t.same(
    createSources(null).map((s) => s.name),
    BUILTIN_SOURCES.filter((s) => s.defaultEnabled).map((s) => s.name),
  );
  t.same(createSources(['load', 'cpu', 'load']).map((s) => s.name), ['load', 'cpu']);
  t.same(createSources([]), []);
  t.throws(() => createSources(['cpu', 'gpu']), { code: ErrorCodes.CONFIG_INVALID });

  // Injected deps reach the sources.
  const [load] = createSources(['load'], { platform: 'linux', readFile: async () => '1.00 2.00 3.00 1/1 1\n' });
  t.same((await load!.collect({ nowMs: 0, signal: new AbortController().signal })).map((p) => p.value), [1, 2, 3]);
});
