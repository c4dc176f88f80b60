import type { ApiClientJson, ApiClientSecretJson, CreatedApiClientJson } from '@ximp/shared';
import { api } from '../api.js';
import { confirmDialog, field, notice, table } from '../components.js';
import { clear, h } from '../dom.js';
import { timeCell } from '../format.js';
import type { Page } from '../page.js';
import { ROLES } from '../roles.js';
import { errorSlot, loadInto, onSubmit, select, shownOnce } from './admin-parts.js';

const SECRET_ADVICE = 'Give it to the program that uses this client (for the ximp CLI: client_id and client_secret in its cli.yaml, or XIMP_CLIENT_SECRET).';

/** SPEC §10: API clients (the CLI, scripts, Prometheus), admin only; a secret shows once. */
export const adminClientsPage: Page = (root) => {
  const listBox = h('div');
  const listError = errorSlot();
  const outcome = h('div', { class: 'outcome' });
  const listOutcome = h('div', { class: 'outcome' });

  const showSecret = (target: HTMLElement, heading: string, answer: ApiClientSecretJson): void => {
    clear(target);
    target.append(
      h('p', null, 'Client ID: ', h('code', null, answer.client_id)),
      shownOnce(heading, 'Client secret', answer.client_secret, SECRET_ADVICE),
    );
  };

  const refresh = (): Promise<void> =>
    loadInto(listBox, async () => {
      const clients = await api.get<ApiClientJson[]>('/api/v1/clients');
      return table(
        [
          { label: 'ID', cell: (c) => h('code', null, c.id) },
          { label: 'Name', cell: (c) => c.name },
          { label: 'Role', cell: (c) => c.role },
          { label: 'Nodes', cell: (c) => c.nodes ?? 'all' },
          { label: 'Status', cell: (c) => h('span', { class: `state state-${c.status}` }, c.status) },
          { label: 'Created', cell: (c) => timeCell(c.created) },
          { label: 'Last used', cell: (c) => timeCell(c.last_used) },
          { label: 'Secret rotated', cell: (c) => timeCell(c.secret_rotated) },
          {
            label: 'Actions',
            cell: (c) =>
              c.status === 'revoked'
                ? null
                : h(
                    'div',
                    { class: 'row-actions' },
                    h('button', { type: 'button', class: 'secondary', 'aria-label': `Rotate secret of ${c.name}`, onclick: () => rotate(c) }, 'Rotate secret'),
                    h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${c.name}`, onclick: () => revoke(c) }, 'Revoke'),
                  ),
          },
        ],
        clients,
        { caption: 'API clients', captionHidden: true, empty: 'No API clients yet. Create one above for each program that calls the API.' },
      );
    });

  const act = (question: string, confirmLabel: string, run: () => Promise<void>): void => {
    confirmDialog(question, confirmLabel)
      .then(async (yes) => {
        if (!yes) return;
        listError.clear();
        clear(listOutcome);
        await run();
        await refresh();
      })
      .catch((err: unknown) => listError.show(err));
  };

  const revoke = (c: ApiClientJson): void =>
    act(`Revoke API client ${c.name} (${c.id})? Its tokens stop working at once.`, 'Revoke client', async () => {
      const answer = await api.del<{ id: string; status: string }>(`/api/v1/clients/${encodeURIComponent(c.id)}`);
      listOutcome.append(notice('success', answer.status === 'revoked' ? `API client ${c.name} revoked.` : `API client ${c.name} was already revoked.`));
    });

  const rotate = (c: ApiClientJson): void =>
    act(`Give API client ${c.name} a new secret? The current secret stops working at once.`, 'Rotate secret', async () => {
      const answer = await api.post<ApiClientSecretJson>(`/api/v1/clients/${encodeURIComponent(c.id)}/rotate-secret`);
      showSecret(listOutcome, `New secret for ${c.name}`, answer);
    });

  const name = h('input', { name: 'name', required: true, autocomplete: 'off', spellcheck: 'false' });
  const role = select('role', ROLES, 'monitoring-viewer');
  const nodes = h('input', { name: 'nodes', placeholder: 'web-*', autocomplete: 'off', spellcheck: 'false' });
  const formError = errorSlot();
  const form = h(
    'form',
    { class: 'stack', 'aria-labelledby': 'create-client-heading' },
    field('Name', name),
    field('Role', role),
    field('Nodes', nodes, 'A node name or glob such as web-*; empty: every node.'),
    formError.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create client')),
  );
  onSubmit(form, formError, async () => {
    const body: Record<string, string> = { name: name.value.trim(), role: role.value };
    if (nodes.value.trim() !== '') body.nodes = nodes.value.trim();
    const created = await api.post<CreatedApiClientJson>('/api/v1/clients', body);
    showSecret(outcome, `Secret for ${created.name ?? body.name}`, created);
    form.reset();
    await refresh();
  });

  root.append(
    h('h1', null, 'API clients'),
    h('p', null, 'Programs (the ximp CLI, scripts, Prometheus) call the API as a client with a role; a client secret is shown once.'),
    h('h2', { id: 'create-client-heading' }, 'Create a client'),
    form,
    outcome,
    h('h2', null, 'Clients'),
    listError.el,
    listOutcome,
    listBox,
  );
  void refresh();
};
