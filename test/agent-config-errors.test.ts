/** A broken agent.yaml names file, line, column and key, reports every problem at once, and exits 78. */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { BIN, tempDir } from './helpers/system';

function runAgent(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN.agent, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const SECRET = 'ximp_abcdefghijkl_0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef';

t.test('unknown key, bad duration and missing token in one run, exit 78', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(
    file,
    ['server:', '  url: wss://collector.example.net:4443/v1/agent', 'node: web-1', 'interval: fast', 'colour: blue', ''].join('\n'),
    { mode: 0o600 },
  );
  for (const args of [['--config', file], ['check-config', '--config', file]]) {
    const res = await runAgent(args);
    t.equal(res.code, 78, `${args[0]} exits 78 (EX_CONFIG)`);
    t.match(res.stderr, /agent\.yaml:4:11: interval: expected a duration like "10s" \(actual: "fast"\)/);
    t.match(res.stderr, /agent\.yaml:5:1: colour: /);
    t.match(res.stderr, /agent\.yaml:\d+:\d+: server\.auth_token: /);
    t.equal(res.stdout, '', 'nothing else was started or printed');
  }
});

t.test('a malformed token is named but never echoed', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'agent.yaml');
  const bad = `${SECRET}!`;
  fs.writeFileSync(file, ['server:', '  url: wss://c:4443/v1/agent', `  auth_token: ${bad}`, ''].join('\n'), { mode: 0o600 });
  const res = await runAgent(['check-config', '--config', file]);
  t.equal(res.code, 78);
  t.match(res.stderr, /agent\.yaml:3:15: server\.auth_token: /);
  t.notMatch(res.stderr, SECRET.slice(20), 'the token text is not in the message');
});

t.test('a valid file passes check-config and warns when others can read it', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, ['server:', '  url: wss://c:4443/v1/agent', `  auth_token: ${SECRET}`, ''].join('\n'));
  fs.chmodSync(file, 0o644);
  const res = await runAgent(['check-config', '--config', file]);
  t.equal(res.code, 0);
  t.match(res.stdout, /ok/);
  t.match(res.stderr, /warning: .*read/i);
  t.notMatch(res.stderr + res.stdout, SECRET.slice(20));
});

t.test('permissions: group-readable 0640 passes quietly; other-readable or group-writable warns', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, ['server:', '  url: wss://c:4443/v1/agent', `  auth_token: ${SECRET}`, ''].join('\n'));
  for (const [mode, warns] of [
    [0o640, null],
    [0o644, /warning: .*agent\.yaml is readable by other users \(mode 0644\)/],
    [0o660, /warning: .*agent\.yaml is writable by its group \(mode 0660\)/],
  ] as const) {
    fs.chmodSync(file, mode);
    const res = await runAgent(['check-config', '--config', file]);
    t.equal(res.code, 0, `mode 0${mode.toString(8)} loads`);
    if (warns === null) t.equal(res.stderr, '', `mode 0${mode.toString(8)}: no warning`);
    else t.match(res.stderr, warns);
    t.notMatch(res.stderr, SECRET.slice(20));
  }
});

t.test('an unreadable ca_file is a config error: FILE:LINE:COL, exit 78, before anything starts', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'agent.yaml');
  const ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(file, ['server:', '  url: wss://c:4443/v1/agent', `  auth_token: ${SECRET}`, `  ca_file: ${ca}`, ''].join('\n'), { mode: 0o600 });
  for (const args of [['--config', file], ['check-config', '--config', file]]) {
    const res = await runAgent(args);
    t.equal(res.code, 78, `${args[0]}: a missing ca_file exits 78`);
    t.match(res.stderr, new RegExp(`agent\\.yaml:4:12: server\\.ca_file: cannot read ${ca.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOENT\\)`));
    t.equal(res.stdout, '');
  }
  fs.mkdirSync(ca); // exists, but cannot be read as a file
  const res = await runAgent(['--config', file]);
  t.equal(res.code, 78, 'an unreadable one too');
  t.match(res.stderr, /server\.ca_file: cannot read .*\(EISDIR\)/);
});

t.test('--help and --version exit 0; an unknown flag is a usage error', async (t) => {
  t.equal((await runAgent(['--help'])).code, 0);
  const version = (await runAgent(['--version'])).stdout;
  t.match(version, /^ximp-agent \d+\.\d+\.\d+ \(/);
  t.equal(version.replace(/^ximp-agent \d+\.\d+\.\d+ /, ''), `(node ${process.version})\n`, 'the version, then the runtime');
  t.equal((await runAgent(['--frobnicate'])).code, 2);
});

t.test('a broken collector.yaml names file, line and key, and exits 78', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'collector.yaml');
  fs.writeFileSync(file, ['data_dir: data', 'listen:', '  agents: "nowhere"', 'store:', '  retention: forever', ''].join('\n'));
  const res = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN.collector, 'check-config', '--config', file], { timeout: 20_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
  t.equal(res.code, 78);
  t.match(res.stderr, /collector\.yaml:3:11: listen\.agents: /);
  t.match(res.stderr, /collector\.yaml:5:14: store\.retention: /);
});
