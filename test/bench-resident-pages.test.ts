/**
 * bench/resident-pages.js on a real process (a node child that only waits): it reads the
 * executable's sections, finds them in the process's address space and counts their resident
 * pages. No figure is asserted beyond what must hold on any machine: the code that runs is
 * resident, nothing counts more pages than its section has, and the sections add up to the total.
 */
import t from 'tap';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { ROOT } from './helpers/system';

const TOOL = path.join(ROOT, 'bench/resident-pages.js');

function runTool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TOOL, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const kib = (text: string): number => Number(text.replace(/,/g, ''));

t.test('counts the resident pages of a running node, section by section', async (t) => {
  // The child ends by itself after 60 s should the teardown not run.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000); process.stdout.write("ready\\n")'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));

  const { code, stdout } = await runTool([String(child.pid)]);
  t.equal(code, 0, stdout);
  const lines = stdout.trim().split('\n');
  t.match(lines[0], new RegExp(`^pid ${child.pid} \\(.+\\): RSS [\\d.]+ MiB = anonymous [\\d.]+ MiB \\+ file-backed [\\d.]+ MiB$`));

  const sections = lines.slice(1, -1).map((line) => {
    const m = /^\s*([\d,]+) KiB of\s+([\d,]+) KiB {2}(.+)$/.exec(line);
    if (!m) throw new Error(`not a section line: ${line}`);
    return { resident: kib(m[1]), size: kib(m[2]), name: m[3] };
  });
  const text = sections.find((s) => s.name === '.text');
  t.ok(text && text.resident > 0, 'the machine code that runs is resident');
  for (const s of sections) t.ok(s.resident > 0 && s.resident <= s.size, `${s.name}: ${s.resident} of ${s.size} KiB`);

  const last = lines[lines.length - 1];
  const total = /^\s*([\d,]+) KiB of its own executable resident$/.exec(last);
  t.ok(total, last);
  t.equal(kib(total![1]), sections.reduce((sum, s) => sum + s.resident, 0), 'the sections add up to the total');
  const rssMiB = Number(/RSS ([\d.]+) MiB/.exec(lines[0])![1]);
  t.ok(kib(total![1]) / 1024 <= rssMiB + 0.1, 'no more of the executable resident than the whole process');
});

t.test('refuses anything but process ids', async (t) => {
  for (const args of [[], ['self'], ['12ab']]) {
    const { code, stderr } = await runTool(args);
    t.equal(code, 2, `args ${JSON.stringify(args)}`);
    t.match(stderr, /^usage: node bench\/resident-pages\.js PID/);
  }
});
