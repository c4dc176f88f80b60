import type { DashboardJson } from '@ximp/shared';
import { api, errorText } from '../api';
import type { Panel, Unit } from '../charts/chart-spec';
import type { Aggregation, PanelFunction } from '../charts/series-math';
import { field, notice } from '../components';
import { h } from '../dom';
import { formatMatchers, parseBy, parseMatchers } from './dashboard-panel-text';

const FUNCTIONS: PanelFunction[] = ['raw', 'rate'];
const AGGREGATIONS: Aggregation[] = ['none', 'sum', 'avg', 'max', 'min'];
const UNITS: Unit[] = ['none', 'bytes', 'bytes/s', 'percent', 'seconds'];
const MAX_PANELS = 50;

const NEW_PANEL: Panel = { title: '', metric: '', matchers: {}, function: 'raw', aggregation: 'none', unit: 'none' };

function select<T extends string>(values: T[], current: T): HTMLSelectElement {
  const el = h('select', null, values.map((v) => h('option', { value: v }, v)));
  el.value = current;
  return el;
}

interface PanelInputs {
  fieldset: HTMLFieldSetElement;
  read(): Panel;
}

function panelInputs(panel: Panel, onRemove: (p: PanelInputs) => void): PanelInputs {
  const title = h('input', { type: 'text', required: true, maxlength: 100, value: panel.title });
  const metric = h('input', { type: 'text', required: true, value: panel.metric, placeholder: 'node_load1', spellcheck: 'false' });
  const matchers = h('input', { type: 'text', value: formatMatchers(panel.matchers), placeholder: 'mode=idle', spellcheck: 'false' });
  const fn = select(FUNCTIONS, panel.function);
  const agg = select(AGGREGATIONS, panel.aggregation);
  const by = h('input', { type: 'text', value: (panel.by ?? []).join(', '), placeholder: 'mode', spellcheck: 'false' });
  const unit = select(UNITS, panel.unit);
  const legend = h('legend', null, panel.title || 'New panel');
  title.addEventListener('input', () => (legend.textContent = title.value || 'New panel'));
  const inputs: PanelInputs = {
    fieldset: h('fieldset', { class: 'panel-form' },
      legend,
      field('Title', title),
      field('Metric', metric),
      field('Matchers', matchers, 'label=value pairs, comma-separated; empty for every series'),
      field('Function', fn),
      field('Aggregation', agg),
      field('Group by labels', by, 'comma-separated; empty for one line'),
      field('Unit', unit),
    ),
    read: () => {
      const out: Panel = {
        title: title.value.trim(),
        metric: metric.value.trim(),
        matchers: parseMatchers(matchers.value),
        function: fn.value as PanelFunction,
        aggregation: agg.value as Aggregation,
        unit: unit.value as Unit,
      };
      const byLabels = parseBy(by.value);
      if (byLabels.length > 0) out.by = byLabels;
      return out;
    },
  };
  inputs.fieldset.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => onRemove(inputs) }, 'Remove panel')));
  return inputs;
}

/**
 * The create/edit form of a dashboard: its name and panels. Saves with POST (new) or PUT and
 * calls `onSaved` with the server's answer.
 */
export function dashboardForm(existing: DashboardJson | null, onSaved: (d: DashboardJson) => void, onCancel?: () => void): HTMLElement {
  const status = h('div');
  const name = h('input', { type: 'text', required: true, maxlength: 100, value: existing?.name ?? '' });
  const panelsBox = h('div', { class: 'panels' });
  const panels: PanelInputs[] = [];
  const addButton = h('button', { type: 'button', class: 'secondary' }, 'Add panel');
  const remove = (p: PanelInputs): void => {
    panels.splice(panels.indexOf(p), 1);
    p.fieldset.remove();
    addButton.disabled = panels.length >= MAX_PANELS;
    addButton.focus();
  };
  const add = (panel: Panel): PanelInputs => {
    const p = panelInputs(panel, remove);
    panels.push(p);
    panelsBox.append(p.fieldset);
    addButton.disabled = panels.length >= MAX_PANELS;
    return p;
  };
  for (const panel of existing?.panels ?? [NEW_PANEL]) add(panel);
  addButton.addEventListener('click', () => {
    const p = add(NEW_PANEL);
    p.fieldset.querySelector('input')?.focus();
  });
  const save = h('button', { type: 'submit' }, existing ? 'Save dashboard' : 'Create dashboard');
  const form = h('form', { class: 'dashboard-form', 'aria-label': existing ? `Edit ${existing.name}` : 'New dashboard' },
    status,
    field('Dashboard name', name),
    panelsBox,
    h('div', { class: 'actions' }, addButton),
    h('div', { class: 'actions' }, save, onCancel ? h('button', { type: 'button', class: 'secondary', onclick: onCancel }, 'Cancel') : null),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    status.replaceChildren();
    let body: { name: string; panels: Panel[] };
    try {
      body = { name: name.value.trim(), panels: panels.map((p) => p.read()) };
    } catch (err) {
      status.append(notice('error', errorText(err)));
      return;
    }
    save.disabled = true;
    const request = existing ? api.put<DashboardJson>(`/api/v1/dashboards/${encodeURIComponent(existing.id)}`, body) : api.post<DashboardJson>('/api/v1/dashboards', body);
    request.then(
      (saved) => onSaved(saved),
      (err: unknown) => {
        save.disabled = false;
        status.append(notice('error', `Not saved: ${errorText(err)}`));
      },
    );
  });
  return form;
}
