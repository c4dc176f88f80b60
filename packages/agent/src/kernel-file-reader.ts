import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/** More distinct files than the sources read (seven on Linux): a bound, not a tuning knob. */
const MAX_OPEN_FILES = 32;
const INITIAL_BUFFER_BYTES = 16 * 1024;
/** /proc/self/mounts on a host with thousands of mounts stays well under this; a stranger file is an error, not memory. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads files the kernel generates afresh at every read from offset 0 (/proc, sysfs), keeping
 * each open: one pread per cycle instead of open, fstat, read and close, into one reused buffer.
 * Only for real kernel paths: a regular file replaced by a rename would keep being read through
 * the old descriptor. Descriptors are close-on-exec (libuv opens them so), so the host-facts
 * child does not inherit them.
 */
export class KernelFileReader {
  private readonly fds = new Map<string, number>();
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);

  read(file: string): string {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      if (this.fds.size >= MAX_OPEN_FILES) return readFileSync(file, 'utf8');
      fd = openSync(file, 'r');
      this.fds.set(file, fd);
    }
    try {
      return this.readFrom(fd, file);
    } catch (err) {
      // A descriptor that failed once is not trusted again: the next read opens the file anew.
      this.fds.delete(file);
      closeSync(fd);
      throw err;
    }
  }

  /** Closes every kept descriptor (tests; the agent's one set lives as long as its process). */
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private readFrom(fd: number, file: string): string {
    let length = 0;
    for (;;) {
      if (length === this.buffer.length) {
        if (length > MAX_FILE_BYTES) {
          // Not held on to: the agent's resident memory is part of what it costs a node.
          this.buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
          throw new Error(`${file}: larger than ${MAX_FILE_BYTES} bytes`);
        }
        // One byte past the bound tells a file of exactly MAX_FILE_BYTES from a longer one.
        const larger = Buffer.allocUnsafe(Math.min(this.buffer.length * 2, MAX_FILE_BYTES + 1));
        this.buffer.copy(larger, 0, 0, length);
        this.buffer = larger;
      }
      const n = readSync(fd, this.buffer, length, this.buffer.length - length, length);
      if (n === 0) return this.buffer.toString('utf8', 0, length);
      length += n;
    }
  }
}
