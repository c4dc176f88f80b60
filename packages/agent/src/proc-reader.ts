import { promises as fsp, readFileSync, statfsSync } from 'node:fs';
import * as path from 'node:path';
import { KernelFileReader } from './kernel-file-reader';

/** The fields of statfs(2) the filesystem source needs; numbers as Node reports them. */
export interface StatfsInfo {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/**
 * The few file-system reads the Linux sources make. Paths are written as on a real host
 * ("/proc/stat", "/sys/..."); a reader built with other roots maps them there, the way
 * node_exporter's --path.procfs and --path.sysfs do, so tests point it at fixture trees.
 */
export interface ProcReader {
  readFile(file: string, signal?: AbortSignal): Promise<string>;
  readdir(dir: string): Promise<string[]>;
  /** `fsType` (from the mounts file) tells a local file system, which is asked synchronously. */
  statfs(mountPoint: string, fsType?: string): Promise<StatfsInfo>;
}

/**
 * File systems whose statfs answers from memory (the superblock's counters), never over a
 * network: asked synchronously, without the thread pool's round trip. Every other type (nfs,
 * cifs, fuse, ceph...) may hang, and goes through the thread pool under the source's deadline.
 */
const LOCAL_FS_TYPES = /^(ext[234]|xfs|btrfs|tmpfs|ramfs|vfat|f2fs)$/;

export interface ProcReaderOptions {
  /** Where "/proc" lives; default "/proc". */
  procRoot?: string;
  /** Where "/sys" lives; default "/sys". */
  sysRoot?: string;
}

/** Rewrites a "/proc/..." or "/sys/..." path onto the configured roots; others pass unchanged. */
export function mapProcPath(file: string, options: ProcReaderOptions = {}): string {
  const procRoot = options.procRoot ?? '/proc';
  const sysRoot = options.sysRoot ?? '/sys';
  if (file === '/proc' || file.startsWith('/proc/')) return path.join(procRoot, file.slice('/proc'.length));
  if (file === '/sys' || file.startsWith('/sys/')) return path.join(sysRoot, file.slice('/sys'.length));
  return file;
}

function isKernelPath(file: string): boolean {
  return file === '/proc' || file.startsWith('/proc/') || file === '/sys' || file.startsWith('/sys/');
}

/** One for the process: the host's kernel files are the same for every reader, and a reload must not leave descriptors behind. */
const kernelFiles = new KernelFileReader();

/**
 * A reader over the real file system (or over fixture trees when roots are given). Files under
 * /proc and /sys are read synchronously: the kernel builds them from memory, so they never wait
 * on a disk, and the promise API's open/fstat/read/close round trips through the thread pool cost
 * about seven times the CPU for these small files. The real ones are kept open (KernelFileReader).
 */
export function createProcReader(options: ProcReaderOptions = {}): ProcReader {
  return {
    readFile: async (file, signal) => {
      if (!isKernelPath(file)) return fsp.readFile(file, { encoding: 'utf8', signal });
      signal?.throwIfAborted();
      const mapped = mapProcPath(file, options);
      // Mapped onto fixture trees, the files are ordinary ones and are read whole each time.
      return isKernelPath(mapped) ? kernelFiles.read(mapped) : readFileSync(mapped, 'utf8');
    },
    readdir: (dir) => fsp.readdir(mapProcPath(dir, options)),
    // statfs runs on the mount point itself: mount points are never rewritten.
    statfs: async (mountPoint, fsType) => {
      const s = fsType !== undefined && LOCAL_FS_TYPES.test(fsType) ? statfsSync(mountPoint) : await fsp.statfs(mountPoint);
      return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    },
  };
}
