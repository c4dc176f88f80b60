/** The `job` label every series of XIMP carries wherever it leaves the store (SPEC §8). */
export const XIMP_JOB = 'ximp';

/**
 * A stored series' labels as they leave the store: with `instance="<node>"` and `job="ximp"`,
 * like node_exporter data scraped by Prometheus (SPEC §8). The node is not stored as a label
 * (it is a column), and a stored label of either name is replaced, as Prometheus' target labels
 * replace scraped ones, so a hostile agent cannot pose as another node.
 */
export function withNodeLabels(labels: Record<string, string>, node: string): Record<string, string> {
  labels.instance = node;
  labels.job = XIMP_JOB;
  return labels;
}
