import { h } from '../dom';
import type { Page } from '../page';

export const dashboardsPage: Page = (root) => {
  root.append(h('h1', null, 'Dashboards'));
};
