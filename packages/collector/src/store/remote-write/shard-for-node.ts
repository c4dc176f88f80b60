/**
 * 32-bit FNV-1a over the name's UTF-8 bytes: stable across restarts and versions, so a node's
 * batches stay in one shard (one FIFO) and every series of that node keeps its order.
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The shard a node's batches always go to. */
export function shardForNode(node: string, shards: number): number {
  return fnv1a32(node) % shards;
}
