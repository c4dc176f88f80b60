// The unit files pass `systemd-analyze verify` silently and rate an exposure of 2.0 or better.
// `verify` complains when the ExecStart binary is missing, so each unit is checked from a temporary
// copy whose ExecStart runs this Node binary instead; every other line is the shipped one.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

const UNIT_DIR = path.join(__dirname, '..', 'systemd');
const MAX_EXPOSURE = 2.0;

const units = [
  { name: 'ximp-agent', config: '/etc/ximp/agent.yaml' },
  { name: 'ximp-collector', config: '/etc/ximp/collector.yaml' },
] as const;

const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const skip = probe.error ? 'systemd-analyze is not installed (apt-get install systemd)' : false;

function analyze(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

/** A copy of the unit, named like it, whose ExecStart binary exists on this machine. */
function testableCopy(t: Tap, name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-units-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, `${name}.service`);
  fs.writeFileSync(file, text.replace(`ExecStart=/usr/bin/${name} `, `ExecStart=${process.execPath} `));
  return file;
}
type Tap = Pick<typeof t, 'teardown'>;

/** `Key=value` lines of the unit (comments dropped), in order. */
function directives(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('['));
}

for (const unit of units) {
  t.test(`${unit.name}.service`, { skip }, async (t) => {
    const text = fs.readFileSync(path.join(UNIT_DIR, `${unit.name}.service`), 'utf8');
    const lines = directives(text);
    for (const expected of [
      'Type=exec',
      `ExecStart=/usr/bin/${unit.name} --config ${unit.config}`,
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'RestartPreventExitStatus=78',
      `User=${unit.name}`,
      'DynamicUser=no',
      'ConfigurationDirectory=ximp',
      `StateDirectory=${unit.name}`,
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'SystemCallFilter=@system-service',
    ]) {
      t.ok(lines.includes(expected), `has ${expected}`);
    }
    t.notOk(lines.some((l) => /^MemoryDenyWriteExecute=(yes|true|1|on)$/.test(l)), "no MemoryDenyWriteExecute (Node's JIT)");
    if (unit.name === 'ximp-agent') {
      t.notOk(lines.includes('ProcSubset=pid'), 'the agent can read /proc/stat and /proc/meminfo');
    }

    const file = testableCopy(t, unit.name, text);
    const verify = analyze(['verify', file]);
    t.equal(verify.stderr, '', 'verify prints nothing on stderr');
    t.equal(verify.stdout, '', 'verify prints nothing on stdout');
    t.equal(verify.status, 0);

    const security = analyze(['security', '--offline=true', file]);
    const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(security.stdout);
    t.ok(match, 'security prints an overall exposure level');
    const exposure = Number(match?.[1]);
    t.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} <= ${MAX_EXPOSURE}`);
  });
}

t.test('verify does flag a broken unit (the silence above means something)', { skip }, async (t) => {
  const text = fs.readFileSync(path.join(UNIT_DIR, 'ximp-agent.service'), 'utf8');
  const file = testableCopy(t, 'ximp-agent', text.replace('Restart=on-failure', 'Restart=on-failure\nRestartt=always'));
  const verify = analyze(['verify', file]);
  t.match(verify.stderr, /Restartt/);
});
