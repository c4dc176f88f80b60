/** Prometheus text format (0.0.4) read back into figures, so tests assert on values, not on layout. */
export interface MetricsText {
  help: Map<string, string>;
  type: Map<string, string>;
  /** The value of a sample of `name` with exactly `labels` (any order), or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample of `name`, with its labels. */
  samples(name: string): { labels: Record<string, string>; value: number }[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetricsText(text: string): MetricsText {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const all: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? help : type).set(meta[2], meta[3]);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k] = v;
    all.push({ name: m[1], labels, value: Number(m[3]) });
  }
  const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  return {
    help,
    type,
    samples: (name) => all.filter((s) => s.name === name).map(({ labels, value }) => ({ labels, value })),
    value: (name, labels = {}) => all.find((s) => s.name === name && key(s.labels) === key(labels))?.value,
  };
}
