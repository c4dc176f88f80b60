'use strict';
/**
 * Pre-encoded agent frames for the load generator. A batch is encoded once per value variant
 * with protobufjs (through shared's encodeAgentFrame, so the wire format is the real one) without
 * its sequence and timestamps; each send only writes a few varints in front of that tail and
 * copies it. Protobuf decodes fields in any order, so the collector reads exactly the frame an
 * agent would send. The ack is read by hand for the same reason: protobufjs per ack is the
 * generator's cost, not the collector's.
 */
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const shared = require(path.join(root, 'packages/shared/dist/index.js'));

const AGENT_MESSAGE_BATCH = 0x12; // field 2 (batch), length-delimited
const SEQUENCE = 0x08; // field 1, varint
const TIMESTAMP = 0x10; // field 2, varint
const SENT = 0x38; // field 7, varint

function varintLength(n) {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf, offset, n) {
  while (n >= 128) {
    buf[offset++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** The series an agent of the bench defines: `count` ids 1..count, one metric with a `series` label. */
function seriesDefinitions(count) {
  return Array.from({ length: count }, (_, k) => ({ id: k + 1, name: 'node_bench_value', labels: [{ name: 'series', value: String(k + 1) }] }));
}

/** The batch body (inside AgentMessage.batch) without sequence and timestamps. */
function batchTail({ samples, definitions, seed }) {
  const seriesIds = Array.from({ length: samples }, (_, k) => k + 1);
  // Values vary per variant and per series, as real gauges do; a fixed seed keeps runs alike.
  const values = seriesIds.map((id) => ((id * 7919 + seed * 104729) % 100_000) / 7.3);
  const bytes = Buffer.from(shared.encodeAgentFrame({ type: 'batch', definitions, seriesIds, values }));
  if (bytes[0] !== AGENT_MESSAGE_BATCH) throw new Error('unexpected AgentMessage encoding');
  let offset = 1;
  while (bytes[offset] & 128) offset++;
  return bytes.subarray(offset + 1);
}

/**
 * Frames for agents sending `samples` samples per batch: `batch(sequence, unixMs, first)` builds
 * one frame, the first batch of a session carrying the definitions of all its series.
 */
function batchFrames({ samples, variants = 4 }) {
  const definitions = seriesDefinitions(samples);
  const plain = Array.from({ length: variants }, (_, v) => batchTail({ samples, definitions: [], seed: v }));
  const withDefinitions = batchTail({ samples, definitions, seed: 0 });
  return {
    batch(sequence, unixMs, first) {
      const tail = first ? withDefinitions : plain[sequence % variants];
      const tsLength = varintLength(unixMs);
      const bodyLength = 1 + varintLength(sequence) + 2 * (1 + tsLength) + tail.length;
      const buf = Buffer.allocUnsafe(1 + varintLength(bodyLength) + bodyLength);
      buf[0] = AGENT_MESSAGE_BATCH;
      let o = writeVarint(buf, 1, bodyLength);
      buf[o++] = SEQUENCE;
      o = writeVarint(buf, o, sequence);
      buf[o++] = TIMESTAMP;
      o = writeVarint(buf, o, unixMs);
      buf[o++] = SENT;
      o = writeVarint(buf, o, unixMs);
      tail.copy(buf, o);
      return buf;
    },
  };
}

/** The Hello of simulated agent `node` (stream `streamId`). */
function helloFrame(node, streamId, intervalMs) {
  return shared.encodeAgentFrame({
    type: 'hello',
    protocolVersion: shared.PROTOCOL_VERSION,
    node,
    agentVersion: 'bench',
    bootId: '',
    host: { hostname: node, os: 'bench', kernel: '', arch: process.arch, cpuModel: '', cpuCount: 1, memoryBytes: 0, virtualization: '' },
    labels: [],
    intervalMs,
    streamId,
  });
}

/**
 * The sequence of an Ack frame (CollectorMessage field 2 holding field 1), or -1 when the frame
 * is anything else (then decodeCollectorFrame reads it).
 */
function ackSequence(buf) {
  if (buf.length < 4 || buf[0] !== 0x12 || buf[1] !== buf.length - 2 || buf[2] !== SEQUENCE) return -1;
  let n = 0;
  let scale = 1;
  for (let i = 3; i < buf.length; i++) {
    const b = buf[i];
    n += (b & 127) * scale;
    if ((b & 128) === 0) return i === buf.length - 1 ? n : -1;
    scale *= 128;
  }
  return -1;
}

module.exports = { batchFrames, helloFrame, ackSequence, seriesDefinitions };
