import { h } from '../dom';
import type { Page } from '../page';

export const dashboardPage: Page = (root) => {
  root.append(h('h1', null, 'Dashboard'));
};
