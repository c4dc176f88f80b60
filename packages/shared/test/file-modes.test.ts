import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { isOwnerOnly, makePrivateDir, unsafeModeProblem, writePublicFile, writeSecretFile } from '../src/file-modes';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-modes-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** Runs `fn` under a umask, restoring the old one even if it throws. */
function withUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

t.test('writeSecretFile creates 0600 whatever the umask', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'key.pem');
  withUmask(0, () => writeSecretFile(file, 'secret'));
  t.equal(mode(file), 0o600);
  t.equal(fs.readFileSync(file, 'utf8'), 'secret');
  t.same(fs.readdirSync(dir), ['key.pem'], 'no temporary file left behind');
});

t.test('writeSecretFile replaces a looser file with a 0600 one', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'cli.yaml');
  fs.writeFileSync(file, 'old', { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  const inodeBefore = fs.statSync(file).ino;
  writeSecretFile(file, Buffer.from('new'));
  t.equal(mode(file), 0o600);
  t.equal(fs.readFileSync(file, 'utf8'), 'new');
  t.not(fs.statSync(file).ino, inodeBefore, 'a new file was renamed into place, not the old one rewritten');
});

t.test('exclusive refuses to replace and leaves the old content', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'ca-key.pem');
  writeSecretFile(file, 'first', { exclusive: true });
  t.throws(() => writeSecretFile(file, 'second', { exclusive: true }), { code: 'EEXIST' });
  t.equal(fs.readFileSync(file, 'utf8'), 'first');
  t.same(fs.readdirSync(dir), ['ca-key.pem'], 'the temporary file was removed');
});

t.test('a failed write leaves neither target nor temporary file', async (t) => {
  const dir = tempDir();
  t.throws(() => writeSecretFile(path.join(dir, 'missing', 'key.pem'), 'x'), { code: 'ENOENT' });
  t.same(fs.readdirSync(dir), []);
});

t.test('writePublicFile creates 0644 even under umask 077', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'ca.pem');
  withUmask(0o077, () => writePublicFile(file, 'cert'));
  t.equal(mode(file), 0o644);
});

t.test('makePrivateDir creates parents 0700 and tightens an existing folder', async (t) => {
  const dir = tempDir();
  const nested = path.join(dir, 'a', 'b');
  withUmask(0, () => makePrivateDir(nested));
  t.equal(mode(path.join(dir, 'a')), 0o700);
  t.equal(mode(nested), 0o700);
  fs.chmodSync(nested, 0o755);
  makePrivateDir(nested);
  t.equal(mode(nested), 0o700);
});

t.test('unsafeModeProblem: group read is fine, other read is not for secrets, only the owner may write', async (t) => {
  t.equal(unsafeModeProblem(0o600, { secret: true }), null);
  t.equal(unsafeModeProblem(0o640, { secret: true }), null, 'root:<service group> 0640 is the installed layout');
  t.equal(unsafeModeProblem(0o644, { secret: true }), 'readable by other users');
  t.equal(unsafeModeProblem(0o660, { secret: true }), 'writable by its group');
  t.equal(unsafeModeProblem(0o666, { secret: true }), 'readable by other users and writable by its group and writable by other users');
  t.equal(unsafeModeProblem(0o644, { secret: false }), null, 'a CA certificate may be public');
  t.equal(unsafeModeProblem(0o646, { secret: false }), 'writable by other users');
});

t.test('isOwnerOnly: no group or other bit at all', async (t) => {
  t.ok(isOwnerOnly(0o700));
  t.ok(isOwnerOnly(0o40700));
  t.ok(isOwnerOnly(0o600));
  t.notOk(isOwnerOnly(0o750));
  t.notOk(isOwnerOnly(0o701));
});
