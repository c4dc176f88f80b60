import { h } from '../dom';
import type { Page } from '../page';

export const passwordPage: Page = (root) => {
  root.append(h('h1', null, 'Change password'));
};
