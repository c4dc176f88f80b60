import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/** Where a shard's sender goes on: the position after the last confirmed batch. */
export interface CursorPosition {
  segment: number;
  offset: number;
}

// [4-byte magic][u32 segment][u32 offset][u32 crc32 of the first 12 bytes]
const MAGIC = 'XFQC';
const SIZE = 16;

/**
 * A shard's confirmed position in a 16-byte file, overwritten in place on every confirm without
 * fsync: a kill -9 keeps it (the page cache survives the process); after a power loss a stale or
 * torn cursor only makes the sender repeat batches the store already took, which it treats as a
 * replay. A missing or damaged file reads as "no cursor": start from the oldest record.
 */
export class ShardCursor {
  private readonly buf = Buffer.alloc(SIZE);

  private constructor(
    private readonly fd: number,
    readonly saved: CursorPosition | undefined,
  ) {}

  static open(file: string): ShardCursor {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      const buf = Buffer.alloc(SIZE);
      const n = fs.readSync(fd, buf, 0, SIZE, 0);
      return new ShardCursor(fd, n === SIZE ? decodeCursor(buf) : undefined);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  write(position: CursorPosition): void {
    encodeCursor(position, this.buf);
    fs.writeSync(this.fd, this.buf, 0, SIZE, 0);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export function encodeCursor(position: CursorPosition, buf: Buffer = Buffer.alloc(SIZE)): Buffer {
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(position.segment, 4);
  buf.writeUInt32LE(position.offset, 8);
  buf.writeUInt32LE(zlib.crc32(buf.subarray(0, 12)), 12);
  return buf;
}

export function decodeCursor(buf: Buffer): CursorPosition | undefined {
  if (buf.length !== SIZE || buf.toString('latin1', 0, 4) !== MAGIC) return undefined;
  if (zlib.crc32(buf.subarray(0, 12)) !== buf.readUInt32LE(12)) return undefined;
  return { segment: buf.readUInt32LE(4), offset: buf.readUInt32LE(8) };
}
