import type { RetentionJson } from '@ximp/shared';
import { api } from '../api.js';
import { field, notice } from '../components.js';
import { clear, h } from '../dom.js';
import type { Page } from '../page.js';
import { errorSlot, loadInto, onSubmit } from './admin-parts.js';

function currentText(r: RetentionJson): string {
  return r.source === 'default' ? `${r.retention} (store.retention in collector.yaml)` : `${r.retention} (set here or with ximp store retention set)`;
}

/** SPEC §9 and §10: how long the embedded store keeps metrics; changed by an admin, audited. */
export const adminRetentionPage: Page = (root) => {
  const current = h('div');
  const outcome = h('div', { class: 'outcome' });
  const input = h('input', { name: 'retention', required: true, placeholder: '30d', autocomplete: 'off', spellcheck: 'false' });
  const formError = errorSlot();
  const form = h(
    'form',
    { class: 'stack', 'aria-labelledby': 'change-retention-heading' },
    field('New retention', input, 'A duration such as 30d or 12h. Data older than this is deleted within the hour.'),
    formError.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save retention')),
  );

  const show = (r: RetentionJson): HTMLElement => h('dl', { class: 'facts' }, h('dt', null, 'Retention'), h('dd', { class: 'retention-current' }, currentText(r)));

  onSubmit(form, formError, async () => {
    const r = await api.put<RetentionJson>('/api/v1/store/retention', { retention: input.value.trim() });
    clear(current);
    current.append(show(r));
    clear(outcome);
    outcome.append(notice('success', `Retention set to ${r.retention}.`));
    form.reset();
  });

  root.append(
    h('h1', null, 'Retention'),
    h('p', null, 'How long the embedded store keeps metrics.'),
    current,
    h('h2', { id: 'change-retention-heading' }, 'Change retention'),
    form,
    outcome,
  );
  void loadInto(current, async () => show(await api.get<RetentionJson>('/api/v1/store/retention')));
};
