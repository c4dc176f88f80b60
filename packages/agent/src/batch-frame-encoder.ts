import { encodeAgentFrame, type MetricBatch, type SeriesDefinition } from '@ximp/shared';
import { isUint53, labelField, stringField, uintField, varint32Size, writeLabel, writeString, writeUint, writeVarint } from './wire-writer';

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

function definitionSize(def: SeriesDefinition): number {
  let size = uintField(def.id) + stringField(def.name);
  for (const label of def.labels) size += labelField(label);
  return size;
}

function writeDefinition(buf: Buffer, at: number, def: SeriesDefinition): number {
  at = writeUint(buf, at, 0x08, def.id);
  at = writeString(buf, at, 0x12, def.name);
  for (const label of def.labels) at = writeLabel(buf, at, 0x1a, label);
  return at;
}
