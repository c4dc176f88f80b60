'use strict';
/**
 * A bounded uniform sample of a stream of numbers (Vitter's algorithm R): the ack latencies of a
 * million batches fit in `size` slots, and every value had the same chance to be kept.
 */
class Reservoir {
  constructor(size = 20_000) {
    this.size = size;
    this.values = [];
    this.seen = 0;
  }

  add(value) {
    this.seen++;
    if (this.values.length < this.size) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.size) this.values[slot] = value;
    }
  }

  reset() {
    this.values = [];
    this.seen = 0;
  }
}

/**
 * The p-th percentile (0..100) over several reservoirs, each sample weighted by how many values
 * it stands for (seen / kept), so a busier thread counts for more. NaN when all are empty.
 */
function weightedPercentile(parts, p) {
  const items = [];
  let total = 0;
  for (const { values, seen } of parts) {
    if (values.length === 0) continue;
    const w = seen / values.length;
    for (const v of values) items.push([v, w]);
    total += seen;
  }
  if (items.length === 0) return NaN;
  items.sort((a, b) => a[0] - b[0]);
  const target = (p / 100) * total;
  let acc = 0;
  for (const [v, w] of items) {
    acc += w;
    if (acc >= target) return v;
  }
  return items[items.length - 1][0];
}

module.exports = { Reservoir, weightedPercentile };
