import * as path from 'node:path';
import type protobuf from 'protobufjs';
import { ErrorCodes, XimpError, type ErrorCode } from '../errors';
import { CloseCodes } from './close-codes';
import type {
  AgentFrame,
  CollectorFrame,
  HostFacts,
  Label,
  Limits,
  SeriesDefinition,
} from './frames';
import { repeatedFieldCheck } from './repeated-field-check';
import { LABEL_NAME, MAX_LABEL_VALUE_LENGTH, MAX_NAME_LENGTH, METRIC_NAME } from './series-rules';
import { DEFAULT_LIMITS } from './limits';
import { MAX_NODE_NAME_LENGTH, isNodeName } from '../node-name';
import { protobufjs } from './protobuf-runtime';

/** The .proto file is the one source of the wire format; it ships beside dist/ in this package. */
export const PROTO_FILE = path.join(__dirname, '..', '..', 'proto', 'ximp', 'v1', 'agent.proto');

interface Schema {
  AgentMessage: protobuf.Type;
  CollectorMessage: protobuf.Type;
  agentRepeatedFieldProblem: (data: Uint8Array, limits: Limits) => string | null;
}

let loadedSchema: Schema | undefined;

/** The schema's message types, parsed from the .proto on first use (see protobufjs()). */
function schema(): Schema {
  if (loadedSchema === undefined) {
    const root = protobufjs().loadSync(PROTO_FILE);
    const AgentMessage = root.lookupType('ximp.v1.AgentMessage');
    loadedSchema = {
      AgentMessage,
      CollectorMessage: root.lookupType('ximp.v1.CollectorMessage'),
      agentRepeatedFieldProblem: repeatedFieldCheck(AgentMessage),
    };
  }
  return loadedSchema;
}

const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TEXT_LENGTH = 1024;

/**
 * A frame that breaks the protocol. `closeCode` is what the session closes with; the error code
 * follows from it unless given (XIMP_ERR_PROTOCOL_UNEXPECTED: a valid frame out of order).
 */
export class ProtocolError extends XimpError {
  readonly closeCode: number;
  constructor(closeCode: number, message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(
      options?.code ??
        (closeCode === CloseCodes.FRAME_TOO_BIG ? ErrorCodes.PROTOCOL_FRAME_TOO_BIG : ErrorCodes.PROTOCOL_MALFORMED),
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ProtocolError';
    this.closeCode = closeCode;
  }
}

function malformed(message: string): ProtocolError {
  return new ProtocolError(CloseCodes.MALFORMED, message);
}

/**
 * Turns any decode failure into a ProtocolError and rejects frames over the limit first, then
 * frames that `countProblem` finds too many repeated fields in, before building any object.
 */
function decodeMessage(
  type: protobuf.Type,
  data: Uint8Array,
  maxFrameBytes: number,
  countProblem?: (data: Uint8Array) => string | null,
): Record<string, unknown> {
  if (!(data instanceof Uint8Array)) throw malformed('frame is not binary');
  if (data.byteLength > maxFrameBytes) {
    throw new ProtocolError(
      CloseCodes.FRAME_TOO_BIG,
      `frame of ${data.byteLength} bytes exceeds the limit of ${maxFrameBytes} bytes`,
    );
  }
  const problem = countProblem?.(data) ?? null;
  if (problem !== null) throw malformed(problem);
  try {
    return type.decode(data) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new ProtocolError(CloseCodes.MALFORMED, `frame does not decode: ${(err as Error).message}`, { cause: err });
  }
}

function text(value: unknown, field: string, max = MAX_TEXT_LENGTH): string {
  const s = typeof value === 'string' ? value : '';
  if (s.length > max) throw malformed(`${field} is longer than ${max} characters`);
  return s;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * A 64-bit counter that must stay exact: above 2^53 - 1 a JavaScript number rounds, and two
 * different sequences could then collapse into one and be dropped as a duplicate.
 */
function exactCount(value: unknown, field: string): number {
  const n = count(value);
  if (!Number.isSafeInteger(n)) throw malformed(`${field} is beyond ±${Number.MAX_SAFE_INTEGER}, where numbers stop being exact`);
  return n;
}

/** Label counts, like every repeated field's, were checked on the wire before decoding. */
function labels(list: unknown, field: string): Label[] {
  const items = Array.isArray(list) ? list : [];
  const seen = new Set<string>();
  return items.map((item: { name?: unknown; value?: unknown }) => {
    const name = text(item.name, `${field} label name`, MAX_NAME_LENGTH);
    if (!LABEL_NAME.test(name)) throw malformed(`${field} has an invalid label name "${name.slice(0, 64)}"`);
    if (seen.has(name)) throw malformed(`${field} repeats the label "${name}"`);
    seen.add(name);
    return { name, value: text(item.value, `${field} label "${name}"`, MAX_LABEL_VALUE_LENGTH) };
  });
}

function hostFacts(value: unknown): HostFacts {
  const h = (value ?? {}) as Record<string, unknown>;
  const runtime = text(h.runtime, 'hello.host.runtime', 64);
  return {
    hostname: text(h.hostname, 'hello.host.hostname'),
    os: text(h.os, 'hello.host.os'),
    kernel: text(h.kernel, 'hello.host.kernel'),
    arch: text(h.arch, 'hello.host.arch'),
    cpuModel: text(h.cpuModel, 'hello.host.cpu_model'),
    cpuCount: count(h.cpuCount),
    memoryBytes: count(h.memoryBytes),
    virtualization: text(h.virtualization, 'hello.host.virtualization'),
    // Absent (not "") when the agent told none, so older agents' frames decode as they were.
    ...(runtime !== '' ? { runtime } : {}),
  };
}

function definitions(list: unknown): SeriesDefinition[] {
  const items = Array.isArray(list) ? list : [];
  return items.map((d: { id?: unknown; name?: unknown; labels?: unknown }) => {
    const name = text(d.name, 'series name', MAX_NAME_LENGTH);
    if (!METRIC_NAME.test(name)) throw malformed(`invalid metric name "${name.slice(0, 64)}"`);
    return { id: count(d.id), name, labels: labels(d.labels, `series ${name}`) };
  });
}

/**
 * Decodes one frame from an agent. Never throws anything but ProtocolError: oversized frames,
 * undecodable bytes and frames missing required fields all become one, with the close code.
 */
export function decodeAgentFrame(data: Uint8Array, limits: Limits = DEFAULT_LIMITS): AgentFrame {
  const { AgentMessage, agentRepeatedFieldProblem } = schema();
  const msg = decodeMessage(AgentMessage, data, limits.maxFrameBytes, (bytes) => agentRepeatedFieldProblem(bytes, limits));
  try {
    return agentFrameFrom(msg);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(CloseCodes.MALFORMED, `frame is malformed: ${(err as Error).message}`, { cause: err });
  }
}

function agentFrameFrom(msg: Record<string, unknown>): AgentFrame {
  if (msg.hello) {
    const h = msg.hello as Record<string, unknown>;
    const node = text(h.node, 'hello.node', MAX_NODE_NAME_LENGTH);
    if (!isNodeName(node)) throw malformed('hello.node is missing or not a valid node name');
    const protocolVersion = count(h.protocolVersion);
    if (protocolVersion < 1) throw malformed('hello.protocol_version is missing');
    const intervalMs = count(h.intervalMs);
    if (intervalMs < 1) throw malformed('hello.interval_ms is missing');
    const streamId = text(h.streamId, 'hello.stream_id', 64);
    if (!STREAM_ID.test(streamId)) throw malformed('hello.stream_id is missing or invalid');
    return {
      type: 'hello',
      protocolVersion,
      node,
      agentVersion: text(h.agentVersion, 'hello.agent_version', 64),
      bootId: text(h.bootId, 'hello.boot_id', 64),
      host: hostFacts(h.host),
      labels: labels(h.labels, 'hello'),
      intervalMs,
      streamId,
    };
  }
  if (msg.batch) {
    const b = msg.batch as Record<string, unknown>;
    const sequence = exactCount(b.sequence, 'batch.sequence');
    if (sequence < 1) throw malformed('batch.sequence is missing');
    const seriesIds = (b.seriesIds ?? []) as number[];
    const values = (b.values ?? []) as number[];
    if (seriesIds.length !== values.length) {
      throw malformed(`batch has ${seriesIds.length} series ids but ${values.length} values`);
    }
    const timestampUnixMs = exactCount(b.timestampUnixMs, 'batch.timestamp_unix_ms');
    if (timestampUnixMs <= 0) throw malformed('batch.timestamp_unix_ms is missing');
    return {
      type: 'batch',
      sequence,
      timestampUnixMs,
      definitions: definitions(b.definitions),
      seriesIds,
      values,
      droppedBatchesTotal: count(b.droppedBatchesTotal),
      // Absent (not 0) when the agent told none, so older agents' frames decode as they were.
      ...(count(b.sentUnixMs) > 0 ? { sentUnixMs: count(b.sentUnixMs) } : {}),
    };
  }
  if (msg.error) return errorFrame(msg.error);
  throw malformed('frame carries no message');
}

function errorFrame(value: unknown): AgentFrame & CollectorFrame {
  const e = value as Record<string, unknown>;
  return { type: 'error', code: count(e.code), message: text(e.message, 'error.message') };
}

/** Decodes one frame from a collector, with the same guarantees as decodeAgentFrame. */
export function decodeCollectorFrame(data: Uint8Array, maxFrameBytes = DEFAULT_LIMITS.maxFrameBytes): CollectorFrame {
  const msg = decodeMessage(schema().CollectorMessage, data, maxFrameBytes);
  try {
    if (msg.welcome) {
      const w = msg.welcome as Record<string, unknown>;
      const l = (w.limits ?? {}) as Record<string, unknown>;
      return {
        type: 'welcome',
        sessionId: text(w.sessionId, 'welcome.session_id', 128),
        protocolVersion: count(w.protocolVersion),
        limits: {
          maxFrameBytes: count(l.maxFrameBytes) || DEFAULT_LIMITS.maxFrameBytes,
          maxSamplesPerBatch: count(l.maxSamplesPerBatch) || DEFAULT_LIMITS.maxSamplesPerBatch,
          maxLabelsPerSeries: count(l.maxLabelsPerSeries) || DEFAULT_LIMITS.maxLabelsPerSeries,
          maxSeriesPerSession: count(l.maxSeriesPerSession) || DEFAULT_LIMITS.maxSeriesPerSession,
        },
        tokenExpiresUnixMs: count(w.tokenExpiresUnixMs),
        lastAckedSequence: exactCount(w.lastAckedSequence, 'welcome.last_acked_sequence'),
        pingIntervalMs: count(w.pingIntervalMs),
      };
    }
    if (msg.ack) {
      const sequence = exactCount((msg.ack as Record<string, unknown>).sequence, 'ack.sequence');
      if (sequence < 1) throw malformed('ack.sequence is missing');
      return { type: 'ack', sequence };
    }
    if (msg.error) return errorFrame(msg.error);
    throw malformed('frame carries no message');
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(CloseCodes.MALFORMED, `frame is malformed: ${(err as Error).message}`, { cause: err });
  }
}

/** Encodes one agent frame. */
export function encodeAgentFrame(frame: AgentFrame): Uint8Array {
  const { type, ...body } = frame;
  const key = type === 'hello' ? 'hello' : type === 'batch' ? 'batch' : 'error';
  const { AgentMessage } = schema();
  return AgentMessage.encode(AgentMessage.fromObject({ [key]: body })).finish();
}

/** Encodes one collector frame. */
export function encodeCollectorFrame(frame: CollectorFrame): Uint8Array {
  const { type, ...body } = frame;
  const { CollectorMessage } = schema();
  return CollectorMessage.encode(CollectorMessage.fromObject({ [type]: body })).finish();
}
