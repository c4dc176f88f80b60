import type { AgentTokenJson, CreatedAgentTokenJson, RevokedAgentTokenJson } from '@ximp/shared';
import { api } from '../api.js';
import { confirmDialog, field, notice, table } from '../components.js';
import { clear, h } from '../dom.js';
import { timeCell } from '../format.js';
import type { Page } from '../page.js';
import { errorSlot, loadInto, onSubmit, shownOnce } from './admin-parts.js';

/** What the revocation did, with every agent session it closed. */
function revokedNotice(answer: RevokedAgentTokenJson): HTMLElement {
  const what = answer.status === 'revoked' ? `Token ${answer.id} revoked.` : `Token ${answer.id} was already revoked.`;
  if (answer.closed_sessions.length === 0) return notice('success', `${what} No agent session was open with it.`);
  return notice(
    'success',
    h(
      'div',
      null,
      h('p', null, `${what} Agent sessions closed: ${answer.closed_sessions.length}`),
      h('ul', { class: 'closed-sessions' }, answer.closed_sessions.map((s) => h('li', null, `${s.node} (${s.address})`))),
    ),
  );
}

/** SPEC §10: agent tokens, admin only; a token shows once at creation, revocation disconnects at once. */
export const adminTokensPage: Page = (root) => {
  const listBox = h('div', { class: 'token-list' });
  const outcome = h('div', { class: 'outcome' });
  const revokeOutcome = h('div', { class: 'outcome' });
  const listError = errorSlot();

  const refresh = (): Promise<void> =>
    loadInto(listBox, async () => {
      const tokens = await api.get<AgentTokenJson[]>('/api/v1/agent-tokens');
      return table(
        [
          { label: 'ID', cell: (t) => h('code', null, t.id) },
          { label: 'Node', cell: (t) => t.node },
          { label: 'Status', cell: (t) => h('span', { class: `state state-${t.status}` }, t.status) },
          { label: 'Created', cell: (t) => timeCell(t.created) },
          { label: 'Expires', cell: (t) => timeCell(t.expires) },
          { label: 'Days left', cell: (t) => (t.status === 'revoked' ? '—' : String(t.days_left)), class: 'num' },
          { label: 'Last used', cell: (t) => timeCell(t.last_used) },
          { label: 'Revoked', cell: (t) => timeCell(t.revoked) },
          {
            label: 'Actions',
            cell: (t) =>
              t.status === 'revoked'
                ? null
                : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke token ${t.id} of ${t.node}`, onclick: () => revoke(t) }, 'Revoke'),
          },
        ],
        tokens,
        {
          caption: 'Agent tokens',
          captionHidden: true,
          empty: 'No agent tokens yet. Create one above for each node, then give it to that node’s agent as server.auth_token_file in agent.yaml.',
        },
      );
    });

  const revoke = (t: AgentTokenJson): void => {
    const question = `Revoke token ${t.id} of node ${t.node}? Its agent is disconnected at once and cannot connect with this token again.`;
    confirmDialog(question, 'Revoke token')
      .then(async (yes) => {
        if (!yes) return;
        listError.clear();
        const answer = await api.del<RevokedAgentTokenJson>(`/api/v1/agent-tokens/${encodeURIComponent(t.id)}`);
        clear(revokeOutcome);
        revokeOutcome.append(revokedNotice(answer));
        await refresh();
      })
      .catch((err: unknown) => listError.show(err));
  };

  const node = h('input', { name: 'node', required: true, autocomplete: 'off', spellcheck: 'false' });
  const expires = h('input', { name: 'expires', placeholder: '365d', autocomplete: 'off', spellcheck: 'false' });
  const formError = errorSlot();
  const form = h(
    'form',
    { class: 'stack', 'aria-labelledby': 'create-token-heading' },
    field('Node', node, 'The node name the agent reports (its host name by default).'),
    field('Expires in', expires, 'A duration such as 90d or 365d; empty: the collector’s default.'),
    formError.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create token')),
  );
  onSubmit(form, formError, async () => {
    const body: Record<string, string> = { node: node.value.trim() };
    if (expires.value.trim() !== '') body.expires = expires.value.trim();
    const created = await api.post<CreatedAgentTokenJson>('/api/v1/agent-tokens', body);
    clear(outcome);
    outcome.append(
      shownOnce(
        `Token ${created.id} for ${created.node}`,
        'Agent token',
        created.token,
        'Put it in the node’s token file (server.auth_token_file in agent.yaml) and start the agent.',
      ),
    );
    form.reset();
    await refresh();
  });

  root.append(
    h('h1', null, 'Agent tokens'),
    h('p', null, 'Each agent connects with a token bound to its node. Revoking a token disconnects its agent at once.'),
    h('h2', { id: 'create-token-heading' }, 'Create a token'),
    form,
    outcome,
    h('h2', null, 'Tokens'),
    listError.el,
    revokeOutcome,
    listBox,
  );
  void refresh();
};
