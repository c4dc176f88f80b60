/**
 * What a series (metric name and labels) must be for the collector to accept it. The codec
 * enforces these on every frame; the agent checks its own points against them before spooling,
 * so that no spooled batch can be refused and block the stream behind it.
 */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const MAX_NAME_LENGTH = 256;
export const MAX_LABEL_VALUE_LENGTH = 1024;

/**
 * What every MetricBatch an agent sends stays within, on any host. A collector's limits may not be
 * set below these (its config refuses it), so every spooled batch fits every collector.
 */
export const AGENT_BATCH_BOUNDS = Object.freeze({
  /** Samples in one batch (and so series defined by it). */
  samples: 5_000,
  /** Encoded frame size, counting the definitions of every series in the batch as new. */
  frameBytes: 1024 * 1024,
  /** Labels on one series: the operator's extra labels and the source's own together. */
  labelsPerSeries: 32,
});

/**
 * Series definitions one MetricBatch frame may carry, whatever the collector's sample limit: a
 * batch defines only series it uses, and no agent batch holds more samples than this.
 */
export const MAX_DEFINITIONS_PER_FRAME = AGENT_BATCH_BOUNDS.samples;

/** Metric names the collector writes itself (`up`, SPEC §5): an agent may not define them. */
export const RESERVED_METRIC_NAMES: ReadonlySet<string> = new Set(['up']);

/** Why this series would be refused, or null when it is fine. */
export function seriesProblem(name: string, labels: Readonly<Record<string, string>>): string | null {
  const maxLabels = AGENT_BATCH_BOUNDS.labelsPerSeries;
  if (name.length > MAX_NAME_LENGTH) return `metric name longer than ${MAX_NAME_LENGTH} characters`;
  if (!METRIC_NAME.test(name)) return 'invalid metric name';
  if (RESERVED_METRIC_NAMES.has(name)) return 'metric name reserved for the collector';
  const names = Object.keys(labels);
  if (names.length > maxLabels) return `${names.length} labels, more than ${maxLabels}`;
  for (const label of names) {
    if (label.length > MAX_NAME_LENGTH || !LABEL_NAME.test(label)) return `invalid label name "${label.slice(0, 64)}"`;
    if (labels[label]!.length > MAX_LABEL_VALUE_LENGTH) {
      return `label "${label}" has a value longer than ${MAX_LABEL_VALUE_LENGTH} characters`;
    }
  }
  return null;
}
