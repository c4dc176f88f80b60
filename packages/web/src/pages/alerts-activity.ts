import type { ActiveAlertJson, AlertHistoryEntryJson } from '@ximp/shared';
import { api } from '../api.js';
import { field, notice, table } from '../components.js';
import { h } from '../dom.js';
import { timeCell } from '../format.js';
import { errorSlot, loadInto, onClickAction, onSubmit, select } from './admin-parts.js';

const HISTORY_LIMIT = 1000;
const REFRESH_MS = 30_000;
const PERIODS: [string, string][] = [
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
];

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function valueText(v: number | null): string {
  return v === null ? '—' : String(Number(v.toPrecision(6)));
}

/** Active alerts, refreshed every 30 s and on demand; returns the function that stops the refresh. */
export function activeSection(): { el: HTMLElement; stop: () => void } {
  const box = h('div');
  const slot = errorSlot();
  const refresh = (): Promise<void> =>
    loadInto(box, async () => {
      const alerts = await api.get<ActiveAlertJson[]>('/api/v1/alerts');
      return table(
        [
          { label: 'Status', cell: (a) => h('span', { class: `state alert-${a.status}` }, a.status) },
          { label: 'Rule', cell: (a) => a.rule },
          { label: 'Node', cell: (a) => (a.node === null ? '—' : h('a', { href: `/nodes/${encodeURIComponent(a.node)}` }, a.node)) },
          { label: 'Instance', cell: (a) => a.instance },
          { label: 'Labels', cell: (a) => h('span', { class: 'mono' }, labelsText(a.labels)) },
          { label: 'Value', cell: (a) => valueText(a.value), class: 'num' },
          { label: 'Active since', cell: (a) => timeCell(a.active_since) },
          { label: 'Fired at', cell: (a) => timeCell(a.fired_at) },
        ],
        alerts,
        { caption: 'Active alerts', captionHidden: true, empty: 'No alert is active. The rules below decide when one fires; the history shows what fired before.' },
      );
    });
  const button = h('button', { type: 'button', class: 'secondary' }, 'Refresh alerts');
  onClickAction(button, slot, refresh);
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  void refresh();
  const el = h(
    'section',
    { 'aria-labelledby': 'active-heading' },
    h('h2', { id: 'active-heading' }, 'Active alerts'),
    h('div', { class: 'toolbar' }, button),
    slot.el,
    box,
  );
  return { el, stop: () => clearInterval(timer) };
}

/** What fired, resolved and was delivered, filtered by period, node and rule. */
export function historySection(): HTMLElement {
  const box = h('div');
  const slot = errorSlot();
  const period = select('since', PERIODS, '24h');
  const node = h('input', { name: 'node', type: 'search', autocomplete: 'off', spellcheck: 'false' });
  const rule = h('input', { name: 'rule', type: 'search', autocomplete: 'off', spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'History filters' },
    field('Period', period),
    field('Node', node),
    field('Rule', rule),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show history')),
  );
  const load = (): Promise<void> => {
    const query = new URLSearchParams({ since: period.value, limit: String(HISTORY_LIMIT) });
    if (node.value.trim() !== '') query.set('node', node.value.trim());
    if (rule.value.trim() !== '') query.set('rule', rule.value.trim());
    const filtered = node.value.trim() !== '' || rule.value.trim() !== '';
    return loadInto(box, async () => {
      const entries = await api.get<AlertHistoryEntryJson[]>(`/api/v1/alerts/history?${query.toString()}`);
      return [
        entries.length >= HISTORY_LIMIT ? notice('info', `Only the newest ${HISTORY_LIMIT} entries are shown; choose a shorter period or a node or rule.`) : null,
        table(
          [
            { label: 'Time', cell: (e) => timeCell(e.time) },
            { label: 'Event', cell: (e) => h('span', { class: `state alert-${e.event}` }, e.event) },
            { label: 'Rule', cell: (e) => e.rule },
            { label: 'Node', cell: (e) => e.node ?? '—' },
            { label: 'Instance', cell: (e) => e.instance },
            { label: 'Value', cell: (e) => valueText(e.value), class: 'num' },
            { label: 'Channel', cell: (e) => e.channel ?? '—' },
            { label: 'Outcome', cell: (e) => e.outcome ?? '—' },
            { label: 'Detail', cell: (e) => e.detail ?? '' },
          ],
          entries,
          {
            caption: 'Alert history',
            captionHidden: true,
            empty: filtered ? 'Nothing matches in this period. Choose a longer period or clear the node or rule.' : 'No alert fired or resolved in this period.',
          },
        ),
      ];
    });
  };
  onSubmit(form, slot, load);
  void load();
  return h('section', { 'aria-labelledby': 'history-heading' }, h('h2', { id: 'history-heading' }, 'History'), form, slot.el, box);
}
