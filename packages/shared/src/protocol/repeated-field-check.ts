import protobuf from 'protobufjs';
import type { Limits } from './frames';
import { MAX_DEFINITIONS_PER_FRAME } from './series-rules';

/**
 * Counts the repeated fields of an agent frame on the wire, before protobufjs builds any object.
 * Decoding materialises one object per element: 1 MiB of empty series definitions (two bytes
 * each) became half a million objects and ~37 MiB of heap before the count was checked. This
 * pass walks the tags with protobufjs' Reader, allocates nothing per element, and stops at the
 * first count over its limit.
 *
 * It also refuses a known field carrying another wire type than the schema's: protobufjs reads
 * such a field by the schema's type, so the walk and the decoder would disagree on where the
 * fields are, and elements hidden that way would escape the count.
 */

type Bound = {
  max: (limits: Limits) => number;
  /** Counted within each message that holds it (labels of one series) rather than per frame. */
  perMessage?: boolean;
  what: (count: number, max: number) => string;
};

/** A bound for every repeated field an agent frame can hold; building the check fails without one. */
const BOUNDS: Readonly<Record<string, Bound>> = {
  'ximp.v1.MetricBatch.definitions': {
    max: (l) => Math.min(MAX_DEFINITIONS_PER_FRAME, l.maxSamplesPerBatch),
    what: (n, max) => `batch defines ${n} series, more than the limit of ${max} per frame`,
  },
  'ximp.v1.MetricBatch.seriesIds': {
    max: (l) => l.maxSamplesPerBatch,
    what: (n, max) => `batch has ${n} series ids, more than the limit of ${max} samples`,
  },
  'ximp.v1.MetricBatch.values': {
    max: (l) => l.maxSamplesPerBatch,
    what: (n, max) => `batch has ${n} values, more than the limit of ${max} samples`,
  },
  'ximp.v1.SeriesDefinition.labels': {
    max: (l) => l.maxLabelsPerSeries,
    perMessage: true,
    what: (n, max) => `a series definition has ${n} labels, more than the limit of ${max}`,
  },
  'ximp.v1.Hello.labels': {
    max: (l) => l.maxLabelsPerSeries,
    perMessage: true,
    what: (n, max) => `hello has ${n} labels, more than the limit of ${max}`,
  },
};

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

interface FieldPlan {
  name: string;
  wireType: number;
  /** Wire type of a packed run of this repeated scalar, or undefined when it cannot be packed. */
  packedElementWireType?: number;
  bound?: Bound;
  /** The message type to walk into: only those that (transitively) hold a repeated field. */
  walk?: MessagePlan;
}

interface MessagePlan {
  fields: Map<number, FieldPlan>;
}

function planOf(type: protobuf.Type, plans: Map<protobuf.Type, MessagePlan | null>): MessagePlan | null {
  if (plans.has(type)) return plans.get(type) ?? null;
  plans.set(type, null); // a recursive type is walked through its first plan only
  const fields = new Map<number, FieldPlan>();
  let holdsRepeated = false;
  for (const field of type.fieldsArray) {
    field.resolve();
    const full = `${type.fullName.replace(/^\./, '')}.${field.name}`;
    const resolved = field.resolvedType;
    const basic = (protobuf.types.basic as Record<string, number | undefined>)[field.type];
    const wireType = resolved instanceof protobuf.Type ? WIRE_BYTES : (basic ?? WIRE_VARINT);
    const plan: FieldPlan = { name: full, wireType };
    if (field.repeated) {
      holdsRepeated = true;
      const bound = BOUNDS[full];
      if (bound === undefined) throw new Error(`repeated field ${full} has no bound in repeated-field-check.ts`);
      plan.bound = bound;
      const packable = (protobuf.types.packed as Record<string, number | undefined>)[field.type] !== undefined;
      if (packable) plan.packedElementWireType = wireType;
    }
    if (resolved instanceof protobuf.Type) {
      const inner = planOf(resolved, plans);
      if (inner !== null) {
        plan.walk = inner;
        holdsRepeated = true;
      }
    }
    fields.set(field.id, plan);
  }
  const plan = holdsRepeated ? { fields } : null;
  plans.set(type, plan);
  return plan;
}

/** Elements in a packed run of `bytes`: a varint ends at each byte below 0x80. */
function packedCount(buf: Uint8Array, start: number, end: number, wireType: number): number {
  if (wireType === WIRE_FIXED64) return Math.ceil((end - start) / 8);
  if (wireType === WIRE_FIXED32) return Math.ceil((end - start) / 4);
  let n = 0;
  for (let i = start; i < end; i++) if (buf[i] < 0x80) n++;
  // An unterminated last varint still makes protobufjs try to read one more element.
  if (end > start && buf[end - 1] >= 0x80) n++;
  return n;
}

class OverLimit extends Error {}

function walk(
  reader: protobuf.Reader,
  end: number,
  plan: MessagePlan,
  limits: Limits,
  frameCounts: Map<string, number>,
): void {
  // Created on first use: one per walked message would cost a Map per series definition.
  let ownCounts: Map<string, number> | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    const field = plan.fields.get(id);
    if (field === undefined) {
      reader.skipType(wireType);
      continue;
    }
    let elements = 1;
    if (field.packedElementWireType !== undefined && wireType === WIRE_BYTES) {
      const length = reader.uint32();
      const start = reader.pos;
      if (start + length > end) throw new OverLimit(`${field.name} runs past the end of its message`);
      elements = packedCount(reader.buf, start, start + length, field.packedElementWireType);
      reader.skip(length);
    } else if (wireType !== field.wireType) {
      throw new OverLimit(`${field.name} has wire type ${wireType}, not ${field.wireType}`);
    } else if (field.walk !== undefined) {
      const length = reader.uint32();
      const inner = reader.pos + length;
      if (inner > end) throw new OverLimit(`${field.name} runs past the end of its message`);
      walk(reader, inner, field.walk, limits, frameCounts);
    } else {
      reader.skipType(wireType);
    }
    if (field.bound !== undefined) {
      const counts = field.bound.perMessage ? (ownCounts ??= new Map()) : frameCounts;
      const count = (counts.get(field.name) ?? 0) + elements;
      const max = field.bound.max(limits);
      if (count > max) throw new OverLimit(field.bound.what(count, max));
      counts.set(field.name, count);
    }
  }
  if (reader.pos > end) throw new OverLimit('a field runs past the end of its message');
}

/** Builds the check for one message type of the schema (the agent's AgentMessage). */
export function repeatedFieldCheck(type: protobuf.Type): (data: Uint8Array, limits: Limits) => string | null {
  const plan = planOf(type, new Map());
  return (data, limits) => {
    if (plan === null) return null;
    try {
      walk(protobuf.Reader.create(data), data.length, plan, limits, new Map());
      return null;
    } catch (err) {
      if (err instanceof OverLimit) return err.message;
      // Bytes the reader cannot walk (a truncated varint, a group nested past the stack):
      // decoding them would fail the same way.
      return `frame does not decode: ${(err as Error).message}`;
    }
  };
}
