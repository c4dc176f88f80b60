import { h } from '../dom';
import type { Page } from '../page';

export const fleetPage: Page = (root) => {
  root.append(h('h1', null, 'Fleet'));
};
