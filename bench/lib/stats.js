'use strict';
/** Small figures helpers shared by the bench scenarios. */

/** The p-th percentile (0..100) of an ascending array; NaN when it is empty. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Bytes as MiB with one decimal, for printed lines. */
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

module.exports = { percentile, mib };
