import { h } from '../dom.js';
import type { Page } from '../page.js';
import { activeSection, historySection } from './alerts-activity.js';
import { channelsSection } from './alerts-channels.js';
import { rulesSection } from './alerts-rules.js';

/** SPEC §14: active alerts, their history, rules and channels; editors edit, secrets are write-only. */
export const alertsPage: Page = (root) => {
  const active = activeSection();
  root.append(
    h('h1', null, 'Alerts'),
    h(
      'nav',
      { 'aria-label': 'Alert sections', class: 'in-page' },
      h(
        'ul',
        null,
        h('li', null, h('a', { href: '#active-heading' }, 'Active')),
        h('li', null, h('a', { href: '#history-heading' }, 'History')),
        h('li', null, h('a', { href: '#rules-heading' }, 'Rules')),
        h('li', null, h('a', { href: '#channels-heading' }, 'Channels')),
      ),
    ),
    active.el,
    historySection(),
    rulesSection(),
    channelsSection(),
  );
  return active.stop;
};
