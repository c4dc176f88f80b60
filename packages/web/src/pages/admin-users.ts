import type { CreatedUserJson, UserJson, UserListJson, UserPasswordJson } from '@ximp/shared';
import { api } from '../api.js';
import { confirmDialog, field, notice, table } from '../components.js';
import { clear, h } from '../dom.js';
import { timeCell } from '../format.js';
import type { Page } from '../page.js';
import { ROLES } from '../roles.js';
import { errorSlot, loadInto, onSubmit, select, shownOnce, yesNo } from './admin-parts.js';

/** Same rule as the collector: lowercase, digits, `.`, `_`, `-`, starting with a letter or digit. */
const USER_NAME_PATTERN = '[a-z0-9][a-z0-9._\\-]{0,63}';
const PASSWORD_ADVICE = 'Give it to the user: they sign in with it once and must choose their own password.';

/** Local users (the embedded sign-in), admin only: one-time passwords show once. */
export const adminUsersPage: Page = (root) => {
  const listBox = h('div');
  const listError = errorSlot();
  const outcome = h('div', { class: 'outcome' });
  const listOutcome = h('div', { class: 'outcome' });

  const refresh = (): Promise<void> =>
    loadInto(listBox, async () => {
      const { users } = await api.get<UserListJson>('/api/v1/users');
      return table(
        [
          { label: 'Name', cell: (u) => u.name },
          { label: 'Role', cell: (u) => u.role },
          { label: 'Nodes', cell: (u) => u.nodes ?? 'all' },
          { label: 'Status', cell: (u) => h('span', { class: `state state-${u.disabled ? 'disabled' : 'active'}` }, u.disabled ? 'disabled' : 'active') },
          { label: 'Must change password', cell: (u) => yesNo(u.must_change_password) },
          { label: 'Created', cell: (u) => timeCell(u.created_at) },
          { label: 'Last sign-in', cell: (u) => timeCell(u.last_login_at) },
          {
            label: 'Actions',
            cell: (u) =>
              u.disabled
                ? null
                : h(
                    'div',
                    { class: 'row-actions' },
                    h('button', { type: 'button', class: 'secondary', 'aria-label': `Reset password of ${u.name}`, onclick: () => reset(u) }, 'Reset password'),
                    h('button', { type: 'button', class: 'danger', 'aria-label': `Disable ${u.name}`, onclick: () => disable(u) }, 'Disable'),
                  ),
          },
        ],
        users,
        { caption: 'Users', captionHidden: true, empty: 'No local users yet. Create one above; they sign in with the one-time password it shows.' },
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

  const disable = (u: UserJson): void =>
    act(`Disable user ${u.name}? They are signed out at once and cannot sign in again.`, 'Disable user', async () => {
      await api.del(`/api/v1/users/${encodeURIComponent(u.name)}`);
      listOutcome.append(notice('success', `User ${u.name} disabled; their sessions are closed.`));
    });

  const reset = (u: UserJson): void =>
    act(`Reset the password of ${u.name}? They are signed out and must sign in with the new one-time password.`, 'Reset password', async () => {
      const answer = await api.post<UserPasswordJson>(`/api/v1/users/${encodeURIComponent(u.name)}/reset-password`);
      clear(listOutcome);
      listOutcome.append(shownOnce(`One-time password for ${answer.name}`, 'One-time password', answer.password, PASSWORD_ADVICE));
    });

  const name = h('input', { name: 'name', required: true, pattern: USER_NAME_PATTERN, maxlength: 64, autocomplete: 'off', spellcheck: 'false' });
  const role = select('role', ROLES, 'monitoring-viewer');
  const nodes = h('input', { name: 'nodes', placeholder: 'web-*', autocomplete: 'off', spellcheck: 'false' });
  const formError = errorSlot();
  const form = h(
    'form',
    { class: 'stack', 'aria-labelledby': 'create-user-heading' },
    field('Name', name, 'Lowercase letters, digits, dot, underscore and hyphen.'),
    field('Role', role),
    field('Nodes', nodes, 'A node name or glob such as web-*; empty: every node.'),
    formError.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create user')),
  );
  onSubmit(form, formError, async () => {
    const body: Record<string, string> = { name: name.value.trim(), role: role.value };
    if (nodes.value.trim() !== '') body.nodes = nodes.value.trim();
    const created = await api.post<CreatedUserJson>('/api/v1/users', body);
    clear(outcome);
    outcome.append(shownOnce(`One-time password for ${created.name}`, 'One-time password', created.password, PASSWORD_ADVICE));
    form.reset();
    await refresh();
  });

  root.append(
    h('h1', null, 'Users'),
    h('p', null, 'People who sign in with a local account. Users of the organisation’s identity provider are not listed here: their role comes from the provider.'),
    h('h2', { id: 'create-user-heading' }, 'Create a user'),
    form,
    outcome,
    h('h2', null, 'Local users'),
    listError.el,
    listOutcome,
    listBox,
  );
  void refresh();
};
