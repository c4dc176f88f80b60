import * as os from 'node:os';
import type { Systeminformation } from 'systeminformation';
import type { Point } from '../point';
import { createProcReader, type ProcReader } from '../proc-reader';

/** What a source learns about the cycle it collects for. */
export interface CollectContext {
  /** The cycle's timestamp, unix ms. */
  nowMs: number;
  /** Aborted when the scheduler gives up on this source for the cycle. */
  signal: AbortSignal;
}

/** A created source: collects one cycle's points. */
export interface SourceCollector {
  collect(ctx: CollectContext): Promise<Point[]>;
}

/** A created source with its name, as the scheduler runs it. */
export interface SourceInstance extends SourceCollector {
  readonly name: string;
}

/** The node `os` functions the non-Linux fallbacks use. */
export type OsReader = Pick<typeof os, 'cpus' | 'loadavg' | 'totalmem' | 'freemem' | 'uptime'>;

/** The systeminformation calls the non-Linux fallbacks use (they spawn processes: never on Linux). */
export interface SiReader {
  fsSize(): Promise<Systeminformation.FsSizeData[]>;
  networkStats(ifaces: string): Promise<Systeminformation.NetworkStatsData[]>;
}

/** Everything a source may read; tests replace any part. */
export interface SourceDeps extends ProcReader {
  platform: NodeJS.Platform;
  os: OsReader;
  si: SiReader;
}

/** Per-source knobs; each source reads the ones it knows and ignores the rest. */
export interface SourceOptions {
  /** filesystem: deadline for one mount's statfs, ms (default 1000). */
  statfsTimeoutMs?: number;
  /** filesystem: mount points to skip (default node_exporter's). */
  mountPointsExclude?: RegExp;
  /** filesystem: file-system types to skip (default node_exporter's). */
  fsTypesExclude?: RegExp;
  /** disk: block devices to skip (default node_exporter's). */
  diskDeviceExclude?: RegExp;
  /** network: interfaces to skip (default none, like node_exporter). */
  netDeviceExclude?: RegExp;
}

/** A metric source plug-in: a thin reader plus a pure parser/mapper, created once per agent. */
export interface MetricSource {
  readonly name: string;
  readonly defaultEnabled: boolean;
  create(options: SourceOptions, deps: SourceDeps): SourceCollector;
}

/** The real readers of this host. systeminformation is loaded only when a fallback needs it. */
export function defaultSourceDeps(): SourceDeps {
  const si = (): typeof import('systeminformation') => require('systeminformation') as typeof import('systeminformation');
  return {
    ...createProcReader(),
    platform: process.platform,
    os,
    si: {
      fsSize: () => si().fsSize(),
      networkStats: (ifaces) => si().networkStats(ifaces),
    },
  };
}
