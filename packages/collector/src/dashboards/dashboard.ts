import { ConfigError, ConfigReader, parseConfigYaml, type DashboardPanelJson } from '@ximp/shared';
import { AGGREGATES, MAX_MATCHERS, labelNameProblem, readMatchers, readMetricName } from '../alerting/alert-rule';

/** One chart of a dashboard (the API contract's): the client reads the series and applies the rest. */
export type Panel = DashboardPanelJson;
export type PanelFunction = Panel['function'];
export type PanelAggregation = Panel['aggregation'];
export type PanelUnit = Panel['unit'];

/** How a panel turns stored samples into a line: as stored, or per-second rate (counters). */
export const PANEL_FUNCTIONS = ['raw', 'rate'] as const satisfies readonly PanelFunction[];
/** The alert rules' aggregates, plus `none` (one line per series). */
export const PANEL_AGGREGATIONS = ['none', ...AGGREGATES] as const satisfies readonly PanelAggregation[];
export const PANEL_UNITS = ['bytes', 'percent', 'seconds', 'bytes/s', 'none'] as const satisfies readonly PanelUnit[];

/** What a caller writes: the rest (id, builtin, created_by, updated_at) the server decides. */
export interface DashboardInput {
  name: string;
  panels: Panel[];
}

export const MAX_DASHBOARD_NAME = 100;
export const MAX_PANELS = 50;
const MAX_TITLE = 100;
/** Dashboard ids: a slug of the name, safe in a URL path. */
export const DASHBOARD_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

const PANEL_KEYS = ['title', 'metric', 'matchers', 'function', 'aggregation', 'by', 'unit'];
/** Keys a client may send back as it read them; the server keeps its own values. */
const READ_ONLY_KEYS = ['id', 'builtin', 'created_by', 'updated_at'];
const KEYS = ['name', 'panels', ...READ_ONLY_KEYS];

function readPanel(r: ConfigReader): Panel | undefined {
  const before = r.issues.length;
  const title = r.string('title', {
    required: true,
    check: (v) => (v.trim().length > 0 && v.length <= MAX_TITLE ? null : `a title of 1 to ${MAX_TITLE} characters`),
  });
  const metric = readMetricName(r, 'metric', true);
  const matchers = readMatchers(r, 'matchers');
  const fn = r.oneOf('function', PANEL_FUNCTIONS);
  const aggregation = r.oneOf('aggregation', PANEL_AGGREGATIONS);
  const by = r.stringList('by', { expected: 'a label name ([a-zA-Z_][a-zA-Z0-9_]*)', parse: (v) => (labelNameProblem(v) === null ? v : null), unique: true });
  if (by !== undefined && by.length > MAX_MATCHERS) r.report('by', `expected at most ${MAX_MATCHERS} labels (actual: ${by.length})`);
  if (by !== undefined && by.length > 0 && (aggregation ?? 'none') === 'none') r.report('by', 'only with an aggregation (sum, avg, max or min)');
  const unit = r.oneOf('unit', PANEL_UNITS);
  if (r.issues.length > before || title === undefined || metric === undefined) return undefined;
  const panel: Panel = { title, metric, matchers: { ...(matchers ?? {}) }, function: fn ?? 'raw', aggregation: aggregation ?? 'none', unit: unit ?? 'none' };
  if (by !== undefined && by.length > 0) panel.by = by;
  return panel;
}

/**
 * A dashboard from JSON (or YAML) text: the name and its panels, checked like alert rules (metric
 * names, label names, one of the known functions, aggregations and units). Throws ConfigError
 * naming every problem by its path (`panels[2].metric`).
 */
export function parseDashboard(text: string, fileName: string): DashboardInput {
  const r = ConfigReader.root(parseConfigYaml(text, fileName), KEYS);
  const name = r.string('name', {
    required: true,
    check: (v) => (v.trim().length > 0 && v.length <= MAX_DASHBOARD_NAME ? null : `a name of 1 to ${MAX_DASHBOARD_NAME} characters`),
  });
  if (!r.has('panels')) r.reportMissing('panels');
  const items = r.sectionList('panels', PANEL_KEYS);
  if (items.length > MAX_PANELS) r.report('panels', `expected at most ${MAX_PANELS} panels (actual: ${items.length})`);
  const panels = items.map(readPanel);
  r.throwIfIssues();
  if (name === undefined || panels.some((p) => p === undefined)) throw new ConfigError(r.issues);
  return { name, panels: panels as Panel[] };
}

/** The id a name gives: lowercase letters and digits, runs of anything else as one `-`, at most 64. */
export function slugOf(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug === '' ? 'dashboard' : slug;
}
