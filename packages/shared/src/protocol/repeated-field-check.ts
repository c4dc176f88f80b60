import type protobuf from 'protobufjs';
import type { Limits } from './frames';
import { protobufjs } from './protobuf-runtime';
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
  // Scratch state of the check running now (checks are synchronous, so never two at once):
  // the limit for this frame and the count so far (per frame, or per enclosing message).
  max: number;
  count: number;
}

interface MessagePlan {
  /** Indexed by field number; an array lookup per tag keeps the walk cheap. */
  fields: (FieldPlan | undefined)[];
  /** Its repeated fields counted per message: reset each time a message of this type begins. */
  perMessage: FieldPlan[];
}

function planOf(type: protobuf.Type, plans: Map<protobuf.Type, MessagePlan | null>, bounded: FieldPlan[]): MessagePlan | null {
  if (plans.has(type)) {
    const known = plans.get(type);
    if (known === undefined) throw new Error(`${type.fullName} contains itself; the count cannot walk a recursive type`);
    return known;
  }
  plans.set(type, undefined as unknown as null); // marks "being planned", to catch recursion
  const { Type, types } = protobufjs();
  const fields: (FieldPlan | undefined)[] = [];
  const perMessage: FieldPlan[] = [];
  let holdsRepeated = false;
  for (const field of type.fieldsArray) {
    field.resolve();
    const full = `${type.fullName.replace(/^\./, '')}.${field.name}`;
    const resolved = field.resolvedType;
    const basic = (types.basic as Record<string, number | undefined>)[field.type];
    const wireType = resolved instanceof Type ? WIRE_BYTES : (basic ?? WIRE_VARINT);
    const plan: FieldPlan = { name: full, wireType, max: 0, count: 0 };
    if (field.repeated) {
      holdsRepeated = true;
      const bound = BOUNDS[full];
      if (bound === undefined) throw new Error(`repeated field ${full} has no bound in repeated-field-check.ts`);
      plan.bound = bound;
      bounded.push(plan);
      if (bound.perMessage) perMessage.push(plan);
      const packable = (types.packed as Record<string, number | undefined>)[field.type] !== undefined;
      if (packable) plan.packedElementWireType = wireType;
    }
    if (resolved instanceof Type) {
      const inner = planOf(resolved, plans, bounded);
      if (inner !== null) {
        plan.walk = inner;
        holdsRepeated = true;
      }
    }
    fields[field.id] = plan;
  }
  const plan = holdsRepeated ? { fields, perMessage } : null;
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

function walk(reader: protobuf.Reader, end: number, plan: MessagePlan): void {
  for (let i = 0; i < plan.perMessage.length; i++) plan.perMessage[i].count = 0;
  // A singular message field given twice is merged by the decoder, its repeated fields appended:
  // counted per occurrence, N Hellos of 32 labels would decode as one Hello of 32·N labels.
  let singularSeen: FieldPlan[] | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    const field = plan.fields[tag >>> 3];
    if (field === undefined) {
      reader.skipType(wireType);
      continue;
    }
    let elements = 1;
    if (field.packedElementWireType !== undefined && wireType === WIRE_BYTES) {
      const length = reader.uint32();
      const start = reader.pos;
      if (start + length > end) throw new OverLimit(`${field.name} runs past the end of its message`);
      // A varint takes at least one byte, so a run's length bounds its count, and its bytes are
      // read only when that bound would break the limit. The count can then be above the true
      // one, which refuses no frame a conforming encoder writes: it packs a field in one run.
      const cheap = field.packedElementWireType === WIRE_VARINT && field.count + length <= field.max;
      elements = cheap ? length : packedCount(reader.buf, start, start + length, field.packedElementWireType);
      reader.skip(length);
    } else if (wireType !== field.wireType) {
      throw new OverLimit(`${field.name} has wire type ${wireType}, not ${field.wireType}`);
    } else if (field.walk !== undefined) {
      if (field.bound === undefined) {
        if (singularSeen?.includes(field)) throw new OverLimit(`${field.name} is given more than once`);
        (singularSeen ??= []).push(field);
      }
      const length = reader.uint32();
      const inner = reader.pos + length;
      if (inner > end) throw new OverLimit(`${field.name} runs past the end of its message`);
      walk(reader, inner, field.walk);
    } else {
      reader.skipType(wireType);
    }
    if (field.bound !== undefined) {
      field.count += elements;
      if (field.count > field.max) throw new OverLimit(field.bound.what(field.count, field.max));
    }
  }
  if (reader.pos > end) throw new OverLimit('a field runs past the end of its message');
}

/** Builds the check for one message type of the schema (the agent's AgentMessage). */
export function repeatedFieldCheck(type: protobuf.Type): (data: Uint8Array, limits: Limits) => string | null {
  const bounded: FieldPlan[] = [];
  const plan = planOf(type, new Map(), bounded);
  return (data, limits) => {
    if (plan === null) return null;
    for (const field of bounded) {
      field.max = field.bound!.max(limits);
      field.count = 0;
    }
    try {
      walk(protobufjs().Reader.create(data), data.length, plan);
      return null;
    } catch (err) {
      if (err instanceof OverLimit) return err.message;
      // Bytes the reader cannot walk (a truncated varint, a group nested past the stack):
      // decoding them would fail the same way.
      return `frame does not decode: ${(err as Error).message}`;
    }
  };
}
