'use strict';
/** The bench's printed tables: figure | measured | target | anchor | met, as Markdown rows. */

/** A measured value with its unit, with as many decimals as the magnitude deserves. */
function formatValue(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  const abs = Math.abs(value);
  const digits = Number.isInteger(value) || abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}

/** Whether a figure meets its target: 'yes', 'no', or '—' (no target, or nothing measured). */
function met(figure) {
  const { target, value } = figure;
  if (!target || value === null || value === undefined || Number.isNaN(value)) return '—';
  const ok = target.op === '<=' ? value <= target.value : target.op === '>=' ? value >= target.value : value < target.value;
  return ok ? 'yes' : 'no';
}

/** Rows (arrays of cells) as an aligned Markdown table, a header row first. */
function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c ?? '').replace(/\|/g, '\\|')));
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => [...r[i]].length)));
  const line = (r) => `| ${r.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join(' | ')} |`;
  return [line(all[0]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...all.slice(1).map(line)].join('\n');
}

/** One scenario's table; `baseline` (figure id -> figure of an earlier run) adds a column. */
function scenarioTable(figures, baseline = null) {
  const header = ['figure', 'measured', ...(baseline ? ['baseline'] : []), 'target', 'anchor', 'met'];
  const rows = figures.map((f) => [
    f.note ? `${f.label} (${f.note})` : f.label,
    formatValue(f.value, f.unit),
    ...(baseline ? [baseline.has(f.id) ? formatValue(baseline.get(f.id).value, baseline.get(f.id).unit) : '—'] : []),
    f.target ? f.target.text : '—',
    f.anchor ?? '—',
    met(f),
  ]);
  return table(header, rows);
}

/** Every figure with a target, from every scenario: the run at a glance. */
function summaryTable(scenarios) {
  const rows = [];
  for (const s of scenarios) {
    for (const f of s.figures) if (f.target) rows.push([s.id, f.label, formatValue(f.value, f.unit), f.target.text, met(f)]);
  }
  return table(['scenario', 'figure', 'measured', 'target', 'met'], rows);
}

module.exports = { formatValue, met, table, scenarioTable, summaryTable };
