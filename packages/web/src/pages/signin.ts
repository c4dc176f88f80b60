import { h } from '../dom';
import type { Page } from '../page';

export const signinPage: Page = (root) => {
  root.append(h('h1', null, 'Sign in'));
};
