/**
 * What the helpers that run a real peer from Debian's packages (Prometheus, Alertmanager) share:
 * finding its binary, skipping (or, under CI=true, failing) without it, and killing what is still
 * running when the test process exits.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SkipOrFail {
  fail(message: string): void;
}

/** The binary's path on PATH, or null. */
export function binaryOnPath(name: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const bin = found.status === 0 ? found.stdout.trim() : '';
  return bin.length > 0 ? bin : null;
}

/**
 * What tests pass as `{ skip }`: false when `binary` is installed, otherwise a message naming the
 * Debian package. Under CI=true a missing binary is also a failure, so CI never skips silently.
 */
export function skipWithoutPackage(t: SkipOrFail, binary: string, debianPackage: string): string | false {
  if (binaryOnPath(binary) !== null) return false;
  const message = `${binary} is not installed: install Debian's package \`${debianPackage}\` (apt-get install --no-install-recommends ${debianPackage})`;
  if (process.env.CI === 'true') t.fail(`${message}; CI=true requires it`);
  return message;
}

/** Every peer this process started that is still running: killed if the process exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** How much of a peer's output is kept for a failure message. */
export const PEER_LOG_KEEP = 64 * 1024;
