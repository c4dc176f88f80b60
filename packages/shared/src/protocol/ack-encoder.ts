/**
 * Encodes `CollectorMessage { ack: Ack { sequence } }` by hand: the collector sends one per batch,
 * and these seven to twelve bytes need no protobufjs object, no fromObject and no Writer.
 * Same bytes as `encodeCollectorFrame({ type: 'ack', sequence })` (codec tests compare them).
 */
export function encodeAck(sequence: number): Buffer {
  let size = 1;
  for (let v = sequence; v >= 128; v = Math.floor(v / 128)) size++;
  const out = Buffer.allocUnsafe(size + 3);
  out[0] = 0x12; // field 2 (ack), length-delimited
  out[1] = size + 1;
  out[2] = 0x08; // Ack field 1 (sequence), varint
  let v = sequence;
  let at = 3;
  while (v >= 128) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at] = v;
  return out;
}
