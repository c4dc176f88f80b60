import type { AuditEntryJson } from '@ximp/shared';
import { api } from '../api.js';
import { field, notice, table } from '../components.js';
import { clear, h } from '../dom.js';
import { timeCell } from '../format.js';
import type { Page } from '../page.js';
import { AUDIT_LIMIT, actionOptions, auditQuery, filterAudit, rangeProblem, type AuditFilter } from './admin-audit-filter.js';
import { errorSlot, loadInto, onSubmit, select } from './admin-parts.js';

/** SPEC §10: every change made through the API or the dashboard, newest first; admin only. */
export const adminAuditPage: Page = (root) => {
  const action = select('action', [['', 'Any action'], ...actionOptions([]).map((a): [string, string] => [a, a])], '');
  const actor = h('input', { name: 'actor', type: 'search', autocomplete: 'off', spellcheck: 'false' });
  const from = h('input', { name: 'from', type: 'datetime-local', step: 1 });
  const to = h('input', { name: 'to', type: 'datetime-local', step: 1 });
  const formError = errorSlot();
  const listBox = h('div');
  const form = h(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Audit filters' },
    field('Action', action),
    field('Actor', actor),
    field('From', from),
    field('To', to),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply filters')),
  );

  const filter = (): AuditFilter => ({ action: action.value, actor: actor.value, from: from.value, to: to.value });

  const load = async (): Promise<void> => {
    const f = filter();
    const problem = rangeProblem(f);
    if (problem !== null) throw new Error(problem);
    await loadInto(listBox, async () => {
      const entries = await api.get<AuditEntryJson[]>(`/api/v1/audit${auditQuery(f)}`);
      addActions(entries);
      const shown = filterAudit(entries, f);
      const filtered = f.action !== '' || f.actor.trim() !== '' || f.from !== '' || f.to !== '';
      return [
        h('p', { class: 'muted', role: 'status' }, `${shown.length} of ${entries.length} entries loaded.`),
        entries.length >= AUDIT_LIMIT
          ? notice('info', `Only the newest ${AUDIT_LIMIT} entries were loaded; set From (and To) to look further back.`)
          : null,
        table(
          [
            { label: 'Time', cell: (e) => timeCell(e.time) },
            { label: 'Actor', cell: (e) => e.actor },
            { label: 'Action', cell: (e) => h('code', null, e.action) },
            { label: 'Target', cell: (e) => e.target },
            { label: 'Source', cell: (e) => e.source },
          ],
          shown,
          {
            caption: 'Audit entries',
            captionHidden: true,
            empty: filtered
              ? 'No entry matches these filters. Widen the time range or clear a filter.'
              : 'No changes recorded yet. Creating a token, a client, a user or an alert rule writes an entry here.',
          },
        ),
      ];
    });
  };

  /** Offers any action the collector recorded that the list does not know yet. */
  const addActions = (entries: AuditEntryJson[]): void => {
    const have = new Set([...action.options].map((o) => o.value));
    for (const a of actionOptions(entries)) if (!have.has(a)) action.append(h('option', { value: a }, a));
  };

  onSubmit(form, formError, load);

  root.append(h('h1', null, 'Audit log'), h('p', null, 'Every change made through the API, the CLI or this dashboard, newest first. Actors are API client IDs, user:NAME for local users and oidc:NAME for the identity provider’s; the actor filter matches any part of one.'), form, formError.el, listBox);
  load().catch((err: unknown) => {
    clear(listBox);
    formError.show(err);
  });
};
