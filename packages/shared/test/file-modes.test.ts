import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { fileModeProblem, isOwnerOnly, isReadableByOthers, makePrivateDir, writePublicFile, writeSecretFile } from '../src/file-modes';

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

t.test('isReadableByOthers looks at the other-read bit', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, 'x');
  fs.chmodSync(file, 0o644);
  t.equal(isReadableByOthers(file), true);
  fs.chmodSync(file, 0o640);
  t.equal(isReadableByOthers(file), false, 'group read is the service group, allowed');
  fs.chmodSync(file, 0o600);
  t.equal(isReadableByOthers(file), false);
  t.throws(() => isReadableByOthers(path.join(dir, 'nope')), { code: 'ENOENT' });
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

t.test('fileModeProblem: others may not read, only the owner may write', async (t) => {
  for (const ok of [0o600, 0o400, 0o640, 0o440, 0o700, 0o750, 0o100600, 0o100640]) {
    t.equal(fileModeProblem(ok), null, `0${ok.toString(8)} is fine`);
  }
  for (const readable of [0o604, 0o644, 0o664, 0o666, 0o100644, 0o755]) {
    t.equal(fileModeProblem(readable), 'readable_by_others', `0${readable.toString(8)}`);
  }
  for (const writable of [0o620, 0o602, 0o660, 0o622, 0o100660]) {
    t.equal(fileModeProblem(writable), 'writable_by_others', `0${writable.toString(8)}`);
  }
});

t.test('isOwnerOnly: no group or other bit at all', async (t) => {
  t.ok(isOwnerOnly(0o700));
  t.ok(isOwnerOnly(0o40700));
  t.ok(isOwnerOnly(0o600));
  t.notOk(isOwnerOnly(0o750));
  t.notOk(isOwnerOnly(0o701));
});
