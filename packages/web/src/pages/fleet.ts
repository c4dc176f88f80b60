import type { AgentJson } from '@ximp/shared';
import { api, errorText } from '../api';
import { field, notice, table, tableRow, type Column } from '../components';
import { clear, h } from '../dom';
import { duration, relative, timeCell } from '../format';
import type { Page } from '../page';
import { loadSession } from '../session';
import { AGENT_STATES, filterAgents } from './fleet-filter';

const RETRY_MS = 5000;
/** How often "12s ago" is brought up to date. */
const AGO_EVERY_MS = 5000;

/** "(12s ago)", kept current by the page's timer through its data-ms. */
function agoText(ms: number): HTMLElement {
  return h('span', { class: 'muted ago', 'data-ms': ms }, `(${relative(ms)})`);
}

const COLUMNS: Column<AgentJson>[] = [
  { label: 'Node', cell: (a) => h('a', { href: `/nodes/${encodeURIComponent(a.node)}` }, a.node) },
  {
    label: 'State',
    cell: (a) => h('span', { class: `state state-${a.state.toLowerCase()}` }, a.state),
    cellAttrs: (a) => ({ 'data-node': a.node, 'data-state': a.state }),
  },
  { label: 'Last seen', cell: (a) => (a.last_seen === null ? '—' : [timeCell(a.last_seen), ' ', agoText(Date.parse(a.last_seen))]) },
  { label: 'Version', cell: (a) => a.version ?? '—' },
  { label: 'Address', cell: (a) => a.address ?? '—' },
  { label: 'Token expires', cell: (a) => (a.token_expires_at ? timeCell(a.token_expires_at) : '—') },
  { label: 'Clock skew', class: 'num', cell: (a) => (a.clock_skew_ms === null || a.clock_skew_ms === undefined ? '—' : duration(a.clock_skew_ms)) },
  { label: 'Spool backlog', class: 'num', cell: (a) => (a.spool_backlog === null || a.spool_backlog === undefined ? '—' : `${a.spool_backlog} batches`) },
];

/** What a new user does to see a first agent here. */
function emptyState(): HTMLElement {
  return h('section', { class: 'empty-state', 'aria-labelledby': 'no-agents' },
    h('h2', { id: 'no-agents' }, 'No agents yet'),
    h('p', null, 'To add a node:'),
    h('ol', null,
      h('li', null, 'Create a token for it (shown once): ', h('code', null, 'ximp agent token create --node NAME')),
      h('li', null, 'On the node, write ', h('code', null, '/etc/ximp/agent.yaml'), ' with the collector\'s address and the token:',
        h('pre', null, h('code', null, 'server:\n  url: wss://COLLECTOR:4443/v1/agent\n  auth_token: ximp_...\n  ca_file: /etc/ximp/ca.pem\nnode: NAME\ninterval: 10s'))),
      h('li', null, 'Start the agent: ', h('code', null, 'ximp-agent check-config && systemctl enable --now ximp-agent'), '. It appears here within seconds.'),
    ),
  );
}

/** `/fleet`: every agent the user may see, updated live from the agents' event stream. */
export const fleetPage: Page = (root, ctx) => {
  const agents = new Map<string, AgentJson>();
  let loaded = false;
  const search = h('input', { type: 'search', placeholder: 'node, address, version' });
  const stateFilter = h('select', null, h('option', { value: '' }, 'All states'), AGENT_STATES.map((s) => h('option', { value: s }, s)));
  const count = h('p', { class: 'muted', role: 'status' });
  const live = h('p', { class: 'live muted', role: 'status' }, 'Connecting to live updates…');
  const body = h('div', { class: 'fleet-body' }, h('p', { class: 'muted' }, 'Loading agents…'));
  root.append(
    h('h1', null, 'Fleet'),
    h('div', { class: 'toolbar', role: 'search' }, field('Search agents', search), field('State', stateFilter)),
    live,
    count,
    body,
  );

  const render = (): void => {
    if (!loaded) return;
    clear(body);
    if (agents.size === 0) {
      count.textContent = '';
      body.append(emptyState());
      return;
    }
    const rows = filterAgents(agents.values(), search.value, stateFilter.value);
    count.textContent = `${rows.length} of ${agents.size} agents`;
    body.append(table(COLUMNS, rows, { empty: 'No agent matches the search.', caption: 'Agents', captionHidden: true }));
  };
  search.addEventListener('input', render);
  stateFilter.addEventListener('change', render);

  const replaceAll = (list: AgentJson[]): void => {
    agents.clear();
    for (const a of list) agents.set(a.node, a);
    loaded = true;
    render();
  };
  const updateOne = (a: AgentJson): void => {
    const isNew = !agents.has(a.node);
    agents.set(a.node, a);
    const cell = body.querySelector(`td[data-node="${CSS.escape(a.node)}"]`);
    const row = cell?.closest('tr');
    // Update the row in place (keeps keyboard focus elsewhere in the table) unless the filter or
    // the set of rows changes.
    if (!isNew && row && filterAgents([a], search.value, stateFilter.value).length === 1) row.replaceWith(tableRow(COLUMNS, a));
    else render();
  };

  // A first answer from the plain list, so the table shows even before the stream's snapshot.
  api.get<AgentJson[]>('/api/v1/agents').then(
    (list) => {
      if (!loaded) replaceAll(list);
    },
    (err: unknown) => {
      if (!loaded) {
        clear(body);
        body.append(notice('error', `The agents could not be read: ${errorText(err)}`));
      }
    },
  );

  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  const connect = (): void => {
    source = new EventSource('/api/v1/agents/events');
    source.addEventListener('open', () => (live.textContent = 'Live: changes show as they happen.'));
    source.addEventListener('snapshot', (e) => {
      try {
        replaceAll(JSON.parse((e as MessageEvent<string>).data) as AgentJson[]);
      } catch {
        // A malformed message is skipped; the next snapshot or event repairs the table.
      }
    });
    source.addEventListener('agent', (e) => {
      try {
        updateOne(JSON.parse((e as MessageEvent<string>).data) as AgentJson);
      } catch {
        // As above.
      }
    });
    source.addEventListener('error', () => {
      if (closed || source === null) return;
      if (source.readyState === EventSource.CONNECTING) {
        live.textContent = 'Live updates interrupted; reconnecting…';
        return;
      }
      // The server ended the stream for good (signed out, or too many streams): find out which.
      source.close();
      live.textContent = `Live updates stopped; retrying in ${RETRY_MS / 1000} s.`;
      loadSession().then(
        (session) => {
          if (closed) return;
          if (session === null) ctx.navigate('/signin');
          else retry = setTimeout(connect, RETRY_MS);
        },
        () => {
          if (!closed) retry = setTimeout(connect, RETRY_MS);
        },
      );
    });
  };
  connect();
  const ago = setInterval(() => {
    for (const el of body.querySelectorAll<HTMLElement>('.ago')) el.textContent = `(${relative(Number(el.dataset.ms))})`;
  }, AGO_EVERY_MS);

  return () => {
    closed = true;
    clearInterval(ago);
    source?.close();
    if (retry !== null) clearTimeout(retry);
  };
};
