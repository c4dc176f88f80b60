import { h } from '../dom';
import type { Page } from '../page';

/** Placeholder until the page is written. */
export const adminCertificatesPage: Page = (root) => {
  root.append(h('h1', null, 'Certificates'));
};
