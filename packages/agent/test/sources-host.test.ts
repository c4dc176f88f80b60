import * as os from 'node:os';
import t from 'tap';
import { silentLogger } from '@ximp/shared';
import { measureCollectionCycles } from '../src/bench-cycle';
import { collectHostFacts, osHostFacts, readBootId, type HostFactsReader } from '../src/host-facts';
import { createSources, Scheduler } from '../src/scheduler';
import type { Point } from '../src/point';

const onLinux = process.platform === 'linux';
const values = (points: Point[], name: string): number[] => points.filter((p) => p.name === name).map((p) => p.value);

t.test('the real sources on this host report the key series with sane values', { skip: !onLinux && 'needs Linux /proc' }, async (t) => {
  const scheduler = new Scheduler({ sources: createSources(null), timeoutMs: 5000, log: silentLogger() });
  const now = Date.now();
  const points = await scheduler.collectOnce(now);
  for (const p of points.filter((p) => p.name === 'ximp_agent_source_success')) t.equal(p.value, 1, `${p.labels.source} succeeded`);

  const cpu = points.filter((p) => p.name === 'node_cpu_seconds_total');
  t.equal(new Set(cpu.map((p) => p.labels.cpu)).size, os.cpus().length, 'one cpu label per CPU');
  t.ok(cpu.some((p) => p.labels.mode === 'idle' && p.value > 0));
  t.ok(cpu.every((p) => p.value >= 0 && p.value < os.uptime() * 10 + 1e6));

  const [total] = values(points, 'node_memory_MemTotal_bytes');
  t.ok(total !== undefined && Math.abs(total - os.totalmem()) < 0.01 * os.totalmem(), 'MemTotal matches os.totalmem()');
  t.ok(values(points, 'node_memory_MemAvailable_bytes')[0]! <= total!);

  const [load1] = values(points, 'node_load1');
  t.ok(load1 !== undefined && load1 >= 0 && Math.abs(load1 - os.loadavg()[0]!) < 5);

  const [boot] = values(points, 'node_boot_time_seconds');
  t.ok(boot !== undefined && Math.abs(now / 1000 - os.uptime() - boot) < 5, 'boot time agrees with os.uptime()');
  t.equal(values(points, 'node_time_seconds')[0], now / 1000);

  const rootSize = points.find((p) => p.name === 'node_filesystem_size_bytes' && p.labels.mountpoint === '/');
  t.ok(rootSize && rootSize.value > 0, 'the root file system has a size');
  t.ok(values(points, 'node_network_receive_bytes_total').length > 0, 'some interface is reported');
});

t.test('the cycle benchmark runs every real source', { skip: !onLinux && 'needs Linux /proc' }, async (t) => {
  const m = await measureCollectionCycles(20);
  t.ok(m.points > 20, `${m.points} points`);
  t.ok(m.wallMsPerCycle > 0 && m.cpuMsPerCycle >= 0 && m.rssBytes > 0);
  // Speed is the benchmark's to measure; this checks that its figures come from a real cycle.
  t.comment(`cpu per cycle ${m.cpuMsPerCycle.toFixed(2)} ms (figures: npm run bench)`);
});

t.test('host facts from systeminformation, with the os module behind every field', async (t) => {
  const facts = await collectHostFacts();
  t.equal(facts.hostname, os.hostname());
  t.equal(facts.memoryBytes, os.totalmem());
  t.ok(facts.cpuCount >= 1);
  t.ok(facts.os.length > 0 && facts.kernel.length > 0 && facts.arch.length > 0 && facts.cpuModel.length > 0);
  t.type(facts.virtualization, 'string');
  t.equal(facts.runtime, `node ${process.version}`, 'the runtime that runs the agent');

  const failing: HostFactsReader = {
    osInfo: async () => {
      throw new Error('no');
    },
    cpu: () => new Promise(() => {}),
    mem: async () => ({ total: 0 }),
    system: async () => ({ virtual: true, virtualHost: 'KVM' }),
  };
  const started = Date.now();
  const fallback = await collectHostFacts(failing, 50);
  t.ok(Date.now() - started < 1000, 'a hung call is cut at the deadline');
  t.same(fallback, { ...osHostFacts(), virtualization: 'kvm' });
  const bare = await collectHostFacts({ ...failing, system: async () => ({ virtual: false }) }, 50);
  t.equal(bare.virtualization, 'none');
});

t.test('readBootId: the kernel boot id, or empty', async (t) => {
  if (onLinux) t.match(await readBootId(), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.equal(await readBootId('/nonexistent/boot_id'), '');
});
