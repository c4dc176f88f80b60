/**
 * What the helpers that run a real peer from Debian's packages (Prometheus, Alertmanager) share:
 * finding its binary, skipping (or, under CI=true, failing) without it, and killing what is still
 * running when the test process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

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

export interface PeerProcessOptions {
  /** For messages: "prometheus", "alertmanager". */
  name: string;
  binary: string;
  /** Its command line for a loopback port. */
  args(port: number): string[];
  cwd: string;
  /** One readiness probe on that port: true once it serves. */
  ready(port: number): Promise<boolean>;
  /** How long a SIGTERM may take before SIGKILL. */
  stopTimeoutMs: number;
}

/**
 * A peer's process: started on a free loopback port (retrying when someone takes it between the
 * probe and the bind; a restart keeps the port, since configurations name it), ready once its probe
 * answers, its last output kept for failure messages, and killed if the test process exits.
 */
export class PeerProcess {
  private child: ChildProcess | null = null;
  private portNumber = 0;
  private output = '';
  private exitWaiters: (() => void)[] = [];

  constructor(private readonly options: PeerProcessOptions) {}

  get port(): number {
    return this.portNumber;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Its output (the last 64 KiB). */
  logs(): string {
    return this.output;
  }

  async start(freePort: () => Promise<number>): Promise<void> {
    const { name } = this.options;
    if (this.child) throw new Error(`${name} is already running`);
    const fixedPort = this.portNumber !== 0;
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < 8; attempt++) {
      if (!fixedPort) this.portNumber = await freePort();
      try {
        await this.spawnAndWait();
        return;
      } catch (err) {
        lastError = err as Error;
        await this.kill();
        if (!/address already in use/i.test(this.output)) break;
        // Someone took the port between our probe and the bind: on a fixed port wait for it.
        await new Promise((r) => setTimeout(r, fixedPort ? 500 : 10));
      }
    }
    throw new Error(`${name} did not start: ${lastError?.message}\n${this.output.slice(-4000)}`);
  }

  private async spawnAndWait(): Promise<void> {
    const { name, binary, cwd } = this.options;
    this.output = '';
    const child = spawn(binary, this.options.args(this.portNumber), { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    killOnExit(child);
    const append = (c: Buffer): void => {
      this.output = (this.output + c.toString('utf8')).slice(-PEER_LOG_KEEP);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.child === child) this.child = null;
      for (const w of this.exitWaiters.splice(0)) w();
    });
    this.child = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      try {
        if (await this.options.ready(this.portNumber)) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${name} was not ready within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** SIGTERM and wait (so a store closes cleanly); SIGKILL after the stop timeout. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    if (!(await this.waitForExit(child, this.options.stopTimeoutMs))) {
      child.kill('SIGKILL');
      await this.waitForExit(child, 10_000);
    }
  }

  /** SIGKILL and wait: the peer vanishes mid-request. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.waitForExit(child, 10_000);
  }
}
