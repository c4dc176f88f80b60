import { encodeAgentFrame, type MetricBatch, type SeriesDefinition } from '@ximp/shared';

/**
 * Encodes an AgentMessage{batch} the way protobufjs does (same fields, same order, same bytes),
 * written straight into one buffer: sizes first, then the packed ids and values, with no message
 * objects in between. The agent sends one every cycle; protobufjs' fromObject/encode/finish cost
 * several times as much for it. Anything outside what this writer covers (a 64-bit field that is
 * negative or not an exact integer) goes through encodeAgentFrame.
 */
export function encodeBatchFrame(batch: Omit<MetricBatch, 'type'>): Uint8Array {
  const { sequence, timestampUnixMs, definitions, seriesIds, values, droppedBatchesTotal, sentUnixMs } = batch;
  if (
    !isUint53(sequence) ||
    !isUint53(timestampUnixMs) ||
    !isUint53(droppedBatchesTotal) ||
    (sentUnixMs !== undefined && !isUint53(sentUnixMs)) ||
    seriesIds.length !== values.length
  ) {
    return encodeAgentFrame({ type: 'batch', ...batch });
  }
  const n = seriesIds.length;
  let idBytes = 0;
  for (let i = 0; i < n; i++) {
    const id = seriesIds[i]!;
    if (!(id >= 0 && id <= 0xffffffff && Number.isInteger(id))) return encodeAgentFrame({ type: 'batch', ...batch });
    idBytes += varint32Size(id);
  }
  const defSizes: number[] = [];
  let defsBytes = 0;
  for (const def of definitions) {
    if (!(def.id >= 0 && def.id <= 0xffffffff && Number.isInteger(def.id))) return encodeAgentFrame({ type: 'batch', ...batch });
    const size = definitionSize(def);
    defSizes.push(size);
    defsBytes += 1 + varint32Size(size) + size;
  }
  let body = uintField(sequence) + uintField(timestampUnixMs) + defsBytes;
  if (n > 0) body += 1 + varint32Size(idBytes) + idBytes + 1 + varint32Size(8 * n) + 8 * n;
  body += uintField(droppedBatchesTotal) + uintField(sentUnixMs ?? 0);

  const buf = Buffer.allocUnsafe(1 + varint32Size(body) + body);
  let at = 0;
  buf[at++] = 0x12; // AgentMessage.batch, length-delimited
  at = writeVarint(buf, at, body);
  at = writeUint(buf, at, 0x08, sequence);
  at = writeUint(buf, at, 0x10, timestampUnixMs);
  for (let d = 0; d < definitions.length; d++) {
    buf[at++] = 0x1a;
    at = writeVarint(buf, at, defSizes[d]!);
    at = writeDefinition(buf, at, definitions[d]!);
  }
  if (n > 0) {
    buf[at++] = 0x22;
    at = writeVarint(buf, at, idBytes);
    for (let i = 0; i < n; i++) at = writeVarint(buf, at, seriesIds[i]!);
    buf[at++] = 0x2a;
    at = writeVarint(buf, at, 8 * n);
    // A DataView, not buf.writeDoubleLE: Node's bounds check allocates on every call without a JIT.
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let i = 0; i < n; i++, at += 8) view.setFloat64(at, values[i]!, true);
  }
  at = writeUint(buf, at, 0x30, droppedBatchesTotal);
  writeUint(buf, at, 0x38, sentUnixMs ?? 0);
  return buf;
}

function isUint53(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function varint32Size(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

function varint64Size(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes a non-negative integer (up to 2^53) as a varint; returns the offset after it. */
function writeVarint(buf: Buffer, at: number, value: number): number {
  while (value >= 128) {
    buf[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[at++] = value;
  return at;
}

// proto3 leaves out a scalar field that holds its default (0, ""), as protobufjs does.

function uintField(value: number): number {
  return value === 0 ? 0 : 1 + varint64Size(value);
}

function writeUint(buf: Buffer, at: number, tag: number, value: number): number {
  if (value === 0) return at;
  buf[at++] = tag;
  return writeVarint(buf, at, value);
}

function stringField(value: string): number {
  if (value === '') return 0;
  const bytes = Buffer.byteLength(value);
  return 1 + varint32Size(bytes) + bytes;
}

function labelSize(name: string, value: string): number {
  return stringField(name) + stringField(value);
}

function definitionSize(def: SeriesDefinition): number {
  let size = uintField(def.id) + stringField(def.name);
  for (const label of def.labels) {
    const inner = labelSize(label.name, label.value);
    size += 1 + varint32Size(inner) + inner;
  }
  return size;
}

function writeString(buf: Buffer, at: number, tag: number, value: string): number {
  if (value === '') return at;
  buf[at++] = tag;
  const bytes = Buffer.byteLength(value);
  at = writeVarint(buf, at, bytes);
  return at + buf.write(value, at, bytes, 'utf8');
}

function writeDefinition(buf: Buffer, at: number, def: SeriesDefinition): number {
  at = writeUint(buf, at, 0x08, def.id);
  at = writeString(buf, at, 0x12, def.name);
  for (const label of def.labels) {
    buf[at++] = 0x1a;
    at = writeVarint(buf, at, labelSize(label.name, label.value));
    at = writeString(buf, at, 0x0a, label.name);
    at = writeString(buf, at, 0x12, label.value);
  }
  return at;
}
