import type { AgentJson, DashboardJson } from '@ximp/shared';
import { api, ApiError, errorText } from '../api';
import { drawChartGrid } from '../charts/chart-grid';
import { panelChart } from '../charts/chart-spec';
import { rangePicker, refreshEvery } from '../charts/range-picker';
import { windowFor } from '../charts/time-range';
import { confirmDialog, field, notice } from '../components';
import { h } from '../dom';
import { timeCell } from '../format';
import type { Page } from '../page';
import { can } from '../session';
import { dashboardForm } from './dashboard-form';

/** Keeps a query parameter in the URL without a navigation. */
function setParam(name: string, value: string): void {
  const url = new URL(location.href);
  url.searchParams.set(name, value);
  history.replaceState(null, '', url.pathname + url.search);
}

/** `/dashboards/{id}`: a dashboard's panels for a node picked from a select; editors edit or delete it. */
export const dashboardPage: Page = (root, ctx) => {
  const id = ctx.params.id;
  const heading = h('h1', null, 'Dashboard');
  const status = h('div');
  const meta = h('p', { class: 'muted' });
  const editSlot = h('div');
  const controls = h('div', { class: 'toolbar' });
  const chartsSlot = h('div');
  root.append(h('p', null, h('a', { href: '/dashboards' }, '← Dashboards')), heading, meta, status, editSlot, h('h2', null, 'Panels'), controls, chartsSlot);

  let dashboard: DashboardJson | null = null;
  let removeCharts: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let gone = false;
  const nodeSelect = h('select', { name: 'node' });

  const draw = (): void => {
    if (timer !== null) clearTimeout(timer);
    removeCharts?.();
    removeCharts = null;
    if (gone || dashboard === null) return;
    if (nodeSelect.value === '') {
      chartsSlot.replaceChildren(h('p', { class: 'empty' }, 'No node to show: no agent has connected yet.'));
      return;
    }
    if (dashboard.panels.length === 0) {
      chartsSlot.replaceChildren(h('p', { class: 'empty' }, 'This dashboard has no panels yet.'));
      return;
    }
    const range = picker.current();
    removeCharts = drawChartGrid(chartsSlot, nodeSelect.value, dashboard.panels.map(panelChart), windowFor(range, Date.now()));
    timer = setTimeout(draw, refreshEvery(range));
  };
  const picker = rangePicker(draw);
  nodeSelect.addEventListener('change', () => {
    setParam('node', nodeSelect.value);
    draw();
  });

  const show = (d: DashboardJson): void => {
    dashboard = d;
    heading.textContent = d.name;
    document.title = `${d.name} — XIMP`;
    meta.replaceChildren(d.builtin ? 'Built-in dashboard; it cannot be changed. ' : `Saved by ${d.created_by}, updated `, d.builtin ? '' : timeCell(d.updated_at));
    editSlot.replaceChildren();
    if (can('dashboards:write') && !d.builtin) {
      const edit = h('button', { type: 'button', class: 'secondary' }, 'Edit dashboard');
      const del = h('button', { type: 'button', class: 'danger' }, 'Delete dashboard');
      edit.addEventListener('click', () => {
        const form = dashboardForm(
          d,
          (saved) => {
            status.replaceChildren(notice('success', 'Dashboard saved.'));
            show(saved);
            draw();
          },
          () => show(d),
        );
        editSlot.replaceChildren(h('h2', null, 'Edit dashboard'), form);
        form.querySelector('input')?.focus();
      });
      del.addEventListener('click', () => {
        void confirmDialog(`Delete the dashboard "${d.name}"? This cannot be undone.`, 'Delete').then((yes) => {
          if (!yes) return;
          api.del(`/api/v1/dashboards/${encodeURIComponent(d.id)}`).then(
            () => ctx.navigate('/dashboards'),
            (err: unknown) => status.replaceChildren(notice('error', `Not deleted: ${errorText(err)}`)),
          );
        });
      });
      editSlot.append(h('div', { class: 'actions' }, edit, del));
    }
  };

  Promise.all([api.get<DashboardJson>(`/api/v1/dashboards/${encodeURIComponent(id)}`), api.get<AgentJson[]>('/api/v1/agents')]).then(
    ([d, agents]) => {
      if (gone) return;
      const nodes = agents.map((a) => a.node).sort();
      nodeSelect.replaceChildren(...nodes.map((n) => h('option', { value: n }, n)));
      const wanted = new URLSearchParams(location.search).get('node');
      if (wanted !== null && nodes.includes(wanted)) nodeSelect.value = wanted;
      controls.append(field('Node', nodeSelect), picker.element, h('button', { type: 'button', class: 'secondary', onclick: draw }, 'Refresh'));
      show(d);
      draw();
    },
    (err: unknown) => {
      const text = err instanceof ApiError && err.status === 404 ? 'There is no dashboard with this address.' : `The dashboard could not be read: ${errorText(err)}`;
      status.replaceChildren(notice('error', text));
    },
  );

  return () => {
    gone = true;
    if (timer !== null) clearTimeout(timer);
    removeCharts?.();
  };
};
