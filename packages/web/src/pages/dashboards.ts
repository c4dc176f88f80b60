import type { DashboardJson, DashboardListJson } from '@ximp/shared';
import { api, errorText } from '../api';
import { notice, table, type Column } from '../components';
import { h } from '../dom';
import { timeCell } from '../format';
import type { Page } from '../page';
import { can } from '../session';
import { dashboardForm } from './dashboard-form';

const COLUMNS: Column<DashboardJson>[] = [
  { label: 'Name', cell: (d) => h('a', { href: `/dashboards/${encodeURIComponent(d.id)}` }, d.name) },
  { label: 'Panels', class: 'num', cell: (d) => String(d.panels.length) },
  { label: 'Kind', cell: (d) => (d.builtin ? 'built-in' : 'saved') },
  { label: 'Created by', cell: (d) => d.created_by },
  { label: 'Updated', cell: (d) => timeCell(d.updated_at) },
];

/** `/dashboards`: the saved dashboards; editors also get the form for a new one. */
export const dashboardsPage: Page = (root, ctx) => {
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', null, 'Dashboards'), list);
  if (can('dashboards:write')) {
    const formSlot = h('div');
    const newButton = h('button', { type: 'button' }, 'New dashboard');
    newButton.addEventListener('click', () => {
      newButton.hidden = true;
      const form = dashboardForm(
        null,
        (d) => ctx.navigate(`/dashboards/${encodeURIComponent(d.id)}`),
        () => {
          formSlot.replaceChildren();
          newButton.hidden = false;
          newButton.focus();
        },
      );
      formSlot.replaceChildren(h('h2', null, 'New dashboard'), form);
      form.querySelector('input')?.focus();
    });
    root.append(h('section', { 'aria-label': 'Create a dashboard' }, newButton, formSlot));
  }
  api.get<DashboardListJson>('/api/v1/dashboards').then(
    ({ dashboards }) => {
      list.replaceChildren(table(COLUMNS, dashboards, { empty: 'No dashboards yet.', caption: 'Dashboards', captionHidden: true }));
    },
    (err: unknown) => list.replaceChildren(notice('error', `The dashboards could not be read: ${errorText(err)}`)),
  );
};
