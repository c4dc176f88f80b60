/**
 * A folder made read-only by bind-mounting it onto itself: even root (tests run as root) cannot
 * write there, which is how the tests force a write under pki/ to fail.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Null when this machine lets a test bind-mount a folder read-only onto itself, else why not. */
export function probeReadOnlyBind(): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-bind-probe-'));
  try {
    execFileSync('mount', ['--bind', dir, dir], { stdio: 'pipe' });
  } catch (err) {
    fs.rmdirSync(dir);
    return `mount --bind refused: ${(err as Error).message}`;
  }
  execFileSync('umount', [dir]);
  fs.rmdirSync(dir);
  return null;
}

/** The tap `skip` option: in CI the test always runs (a refused mount there is a failure, not a skip). */
export function skipWithoutReadOnlyBind(): string | false {
  const refused = probeReadOnlyBind();
  return refused !== null && process.env.CI !== 'true' ? refused : false;
}

/** Makes `dir` read-only until the returned function (also run at teardown) undoes it. */
export function mountReadOnly(t: Teardown, dir: string): () => void {
  execFileSync('mount', ['--bind', dir, dir], { stdio: 'pipe' });
  let mounted = true;
  const unmount = (): void => {
    if (!mounted) return;
    execFileSync('umount', [dir]);
    mounted = false;
  };
  t.teardown(unmount);
  execFileSync('mount', ['-o', 'remount,ro,bind', dir]);
  return unmount;
}
