import type { Systeminformation } from 'systeminformation';
import type { Point } from '../point';
import type { StatfsInfo } from '../proc-reader';
import { lastInputMemo } from './memo';
import { sourceParseError, splitFields } from './parse-error';
import type { MetricSource } from './source';

const FILE = '/proc/self/mounts';

/** node_exporter's default --collector.filesystem.mount-points-exclude. */
export const DEFAULT_MOUNT_POINTS_EXCLUDE = /^\/(dev|proc|run\/credentials\/.+|sys|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/;
/** node_exporter's default --collector.filesystem.fs-types-exclude (pseudo and read-only image file systems). */
export const DEFAULT_FS_TYPES_EXCLUDE =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$/;
/** How long one mount's statfs may take before it counts as a device error for the cycle. */
export const DEFAULT_STATFS_TIMEOUT_MS = 1000;

export interface MountEntry {
  device: string;
  mountPoint: string;
  fsType: string;
  options: string[];
}

/** The kernel writes blanks, tabs, newlines and backslashes in mount fields as octal escapes. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/self/mounts ("device mountpoint fstype options dump pass"). */
export function parseMounts(text: string): MountEntry[] {
  const mounts: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = splitFields(line);
    if (fields.length === 0) continue;
    if (fields.length < 4) throw sourceParseError(FILE, `expected at least 4 columns (actual: ${fields.length})`);
    const [device, mountPoint, fsType, options] = fields as [string, string, string, string];
    mounts.push({
      device: unescapeMountField(device),
      mountPoint: unescapeMountField(mountPoint),
      fsType,
      options: options.split(','),
    });
  }
  if (mounts.length === 0) throw sourceParseError(FILE, 'no mounts (empty or not a mounts file)');
  return mounts;
}

export interface MountFilter {
  mountPointsExclude?: RegExp;
  fsTypesExclude?: RegExp;
}

/** The mounts node_exporter would report: excluded types and points dropped, repeats once. */
export function selectMounts(mounts: MountEntry[], filter: MountFilter = {}): MountEntry[] {
  const mountPointsExclude = filter.mountPointsExclude ?? DEFAULT_MOUNT_POINTS_EXCLUDE;
  const fsTypesExclude = filter.fsTypesExclude ?? DEFAULT_FS_TYPES_EXCLUDE;
  const seen = new Set<string>();
  const kept: MountEntry[] = [];
  for (const m of mounts) {
    if (mountPointsExclude.test(m.mountPoint) || fsTypesExclude.test(m.fsType)) continue;
    const key = `${m.device}\0${m.mountPoint}\0${m.fsType}`;
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(m);
  }
  return kept;
}

/**
 * node_filesystem_*{device,fstype,mountpoint} for one mount. `stat` is null when statfs failed
 * or timed out: then only readonly and device_error (1) are reported, as node_exporter does.
 */
export function mapFilesystem(mount: MountEntry, stat: StatfsInfo | null): Point[] {
  const labels = { device: mount.device, fstype: mount.fsType, mountpoint: mount.mountPoint };
  const points: Point[] = [];
  if (stat !== null) {
    points.push(
      { name: 'node_filesystem_size_bytes', labels, value: stat.blocks * stat.bsize },
      { name: 'node_filesystem_free_bytes', labels, value: stat.bfree * stat.bsize },
      { name: 'node_filesystem_avail_bytes', labels, value: stat.bavail * stat.bsize },
      { name: 'node_filesystem_files', labels, value: stat.files },
      { name: 'node_filesystem_files_free', labels, value: stat.ffree },
    );
  }
  points.push(
    { name: 'node_filesystem_readonly', labels, value: mount.options.includes('ro') ? 1 : 0 },
    { name: 'node_filesystem_device_error', labels, value: stat === null ? 1 : 0 },
  );
  return points;
}

/** The size series from systeminformation's fsSize, for hosts without /proc. */
export function mapSiFsSize(sizes: Systeminformation.FsSizeData[]): Point[] {
  return sizes.flatMap((s) => {
    const labels = { device: s.fs, fstype: s.type, mountpoint: s.mount };
    return [
      { name: 'node_filesystem_size_bytes', labels, value: s.size },
      { name: 'node_filesystem_free_bytes', labels, value: s.size - s.used },
      { name: 'node_filesystem_avail_bytes', labels, value: s.available },
    ];
  });
}

export const filesystemSource: MetricSource = {
  name: 'filesystem',
  defaultEnabled: true,
  create(options, deps) {
    const timeoutMs = options.statfsTimeoutMs ?? DEFAULT_STATFS_TIMEOUT_MS;
    // Mount points whose statfs has not returned yet (a dead NFS server). No new call is made on
    // them until the old one returns, so a hung mount cannot pile up blocked threads.
    const pending = new Set<string>();

    function statfsWithDeadline(mountPoint: string, fsType: string, signal: AbortSignal): Promise<StatfsInfo | null> {
      if (pending.has(mountPoint) || signal.aborted) return Promise.resolve(null);
      pending.add(mountPoint);
      const call = Promise.resolve()
        .then(() => deps.statfs(mountPoint, fsType))
        .finally(() => pending.delete(mountPoint));
      return new Promise((resolve) => {
        const done = (result: StatfsInfo | null): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        };
        const onAbort = (): void => done(null);
        const timer = setTimeout(onAbort, timeoutMs);
        signal.addEventListener('abort', onAbort, { once: true });
        call.then(done, () => done(null));
      });
    }

    // The mount table rarely changes: it is parsed again only when its text does.
    const mountsOf = lastInputMemo((text) => selectMounts(parseMounts(text), options));

    return {
      async collect(ctx) {
        if (deps.platform !== 'linux') return mapSiFsSize(await deps.si.fsSize());
        const mounts = mountsOf(await deps.readFile(FILE, ctx.signal));
        const stats = await Promise.all(mounts.map((m) => statfsWithDeadline(m.mountPoint, m.fsType, ctx.signal)));
        return mounts.flatMap((m, i) => mapFilesystem(m, stats[i] ?? null));
      },
    };
  },
};
