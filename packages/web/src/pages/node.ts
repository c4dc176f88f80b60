import { h } from '../dom';
import type { Page } from '../page';

export const nodePage: Page = (root) => {
  root.append(h('h1', null, 'Node'));
};
