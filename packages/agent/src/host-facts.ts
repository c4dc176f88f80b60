import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runtimeVersion, type HostFacts } from '@ximp/shared';

/** systeminformation may spawn helpers (dmidecode, lscpu): never wait longer than this for them. */
export const HOST_FACTS_TIMEOUT_MS = 5000;

/** The subset of systeminformation used here; tests may pass a fake. */
export interface HostFactsReader {
  osInfo(): Promise<{ distro: string; release: string; kernel: string; arch: string }>;
  cpu(): Promise<{ manufacturer: string; brand: string; cores: number }>;
  mem(): Promise<{ total: number }>;
  system(): Promise<{ virtual: boolean; virtualHost?: string }>;
}

/** Facts from node's os module alone: what every field falls back to. */
export function osHostFacts(): HostFacts {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()}`,
    kernel: os.release(),
    arch: process.arch,
    cpuModel: cpus[0]?.model.trim() ?? '',
    cpuCount: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryBytes: os.totalmem(),
    virtualization: '',
    runtime: runtimeVersion(),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}

/**
 * What the collector shows about a host, read once per session. Each systeminformation call has
 * the same deadline; whatever fails or is late falls back to node's os module. Never rejects.
 */
export async function collectHostFacts(
  reader?: HostFactsReader,
  timeoutMs: number = HOST_FACTS_TIMEOUT_MS,
): Promise<HostFacts> {
  const facts = osHostFacts();
  let si: HostFactsReader;
  try {
    si = reader ?? (require('systeminformation') as HostFactsReader);
  } catch {
    return facts;
  }
  const call = <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return withTimeout(fn(), timeoutMs);
    } catch {
      return Promise.resolve(null);
    }
  };
  const [osInfo, cpu, mem, system] = await Promise.all([
    call(() => si.osInfo()),
    call(() => si.cpu()),
    call(() => si.mem()),
    call(() => si.system()),
  ]);
  if (osInfo) {
    const name = `${osInfo.distro ?? ''} ${osInfo.release ?? ''}`.trim();
    if (name !== '') facts.os = name;
    if (osInfo.kernel) facts.kernel = osInfo.kernel;
    if (osInfo.arch) facts.arch = osInfo.arch;
  }
  if (cpu) {
    const model = `${cpu.manufacturer ?? ''} ${cpu.brand ?? ''}`.trim();
    if (model !== '') facts.cpuModel = model;
    if (Number.isInteger(cpu.cores) && cpu.cores > 0) facts.cpuCount = cpu.cores;
  }
  if (mem && Number.isFinite(mem.total) && mem.total > 0) facts.memoryBytes = mem.total;
  if (system) facts.virtualization = system.virtual ? (system.virtualHost ?? '').toLowerCase() || 'unknown' : 'none';
  return facts;
}

/** What the child's JSON may carry, by field type; anything else keeps the os module's value. */
const TEXT_FIELDS = ['hostname', 'os', 'kernel', 'arch', 'cpuModel', 'virtualization'] as const;
const COUNT_FIELDS = ['cpuCount', 'memoryBytes'] as const;

/**
 * collectHostFacts() in a short-lived child process (same Node, same options): systeminformation
 * and its megabyte of modules never load into the agent, which would keep them resident for its
 * whole life for facts read once. A child that fails, is late or prints nonsense leaves the os
 * module's facts. Never rejects.
 */
export function collectHostFactsAside(timeoutMs: number = HOST_FACTS_TIMEOUT_MS): Promise<HostFacts> {
  const facts = osHostFacts();
  // dist/ in production; the same compiled file when this module runs from src/ (tests).
  const script = path.join(__dirname, '..', 'dist', 'host-facts-child.js');
  return new Promise((resolve) => {
    try {
      // Its own calls have timeoutMs each, run together; the margin covers the child's start-up.
      execFile(process.execPath, [script], { timeout: timeoutMs + 5000, maxBuffer: 64 * 1024, encoding: 'utf8' }, (err, stdout) => {
        if (err) return resolve(facts);
        try {
          const child = JSON.parse(stdout) as Record<string, unknown>;
          for (const key of TEXT_FIELDS) if (typeof child[key] === 'string' && child[key] !== '') facts[key] = child[key];
          for (const key of COUNT_FIELDS) {
            const value = child[key];
            if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) facts[key] = value;
          }
        } catch {
          // not JSON: the os module's facts stand
        }
        resolve(facts);
      });
    } catch {
      resolve(facts);
    }
  });
}

/** The kernel's id of this boot, so the collector can tell a reboot from a reconnect; '' if absent. */
export async function readBootId(file = '/proc/sys/kernel/random/boot_id'): Promise<string> {
  try {
    return (await fsp.readFile(file, 'utf8')).trim();
  } catch {
    return '';
  }
}
