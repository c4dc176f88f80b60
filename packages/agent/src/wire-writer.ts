import type { Label } from '@ximp/shared';

/**
 * Protobuf wire format written straight into a Buffer, the way protobufjs writes it: sizes are
 * computed first so that a frame is one allocation. Numbers are non-negative integers up to 2^53.
 */

export function isUint53(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export function varint32Size(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

export function varint64Size(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes a non-negative integer (up to 2^53) as a varint; returns the offset after it. */
export function writeVarint(buf: Buffer, at: number, value: number): number {
  while (value >= 128) {
    buf[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[at++] = value;
  return at;
}

// proto3 leaves out a scalar field that holds its default (0, ""), as protobufjs does.

export function uintField(value: number): number {
  return value === 0 ? 0 : 1 + varint64Size(value);
}

export function writeUint(buf: Buffer, at: number, tag: number, value: number): number {
  if (value === 0) return at;
  buf[at++] = tag;
  return writeVarint(buf, at, value);
}

export function stringField(value: string): number {
  if (value === '') return 0;
  const bytes = Buffer.byteLength(value);
  return 1 + varint32Size(bytes) + bytes;
}

export function writeString(buf: Buffer, at: number, tag: number, value: string): number {
  if (value === '') return at;
  buf[at++] = tag;
  const bytes = Buffer.byteLength(value);
  at = writeVarint(buf, at, bytes);
  return at + buf.write(value, at, bytes, 'utf8');
}

/** The size of a Label message (name = 1, value = 2) as a field of its holder, tag and length included. */
export function labelField(label: Label): number {
  const inner = stringField(label.name) + stringField(label.value);
  return 1 + varint32Size(inner) + inner;
}

export function writeLabel(buf: Buffer, at: number, tag: number, label: Label): number {
  buf[at++] = tag;
  at = writeVarint(buf, at, stringField(label.name) + stringField(label.value));
  at = writeString(buf, at, 0x0a, label.name);
  return writeString(buf, at, 0x12, label.value);
}
