import type { AgentDetailJson } from '@ximp/shared';
import { api, ApiError, errorText } from '../api';
import { drawChartGrid } from '../charts/chart-grid';
import { NODE_CHARTS } from '../charts/node-charts';
import { rangePicker, refreshEvery } from '../charts/range-picker';
import { windowFor } from '../charts/time-range';
import { notice } from '../components';
import { h } from '../dom';
import { bytes, relative, timeCell } from '../format';
import type { Page } from '../page';

function facts(agent: AgentDetailJson): HTMLElement {
  const host = agent.host;
  const rows: [string, Node | string][] = [
    ['State', h('span', { class: `state state-${agent.state.toLowerCase()}` }, agent.state)],
    ['Last seen', agent.last_seen ? h('span', null, timeCell(agent.last_seen), ` (${relative(Date.parse(agent.last_seen))})`) : '—'],
    ['Agent version', agent.version ?? '—'],
    ['Address', agent.address ?? '—'],
  ];
  if (host) {
    rows.push(
      ['Host name', host.hostname ?? '—'],
      ['Operating system', host.os ?? '—'],
      ['Kernel', host.kernel ?? '—'],
      ['Architecture', host.arch ?? '—'],
      ['CPU', host.cpu_model ? `${host.cpu_model}${host.cpu_count ? ` × ${host.cpu_count}` : ''}` : '—'],
      ['Memory', host.memory_bytes ? bytes(host.memory_bytes) : '—'],
      ['Virtualization', host.virtualization || 'none'],
      ['Runtime', host.runtime || '—'],
    );
  }
  return h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

/** `/nodes/{node}`: the node's host facts and its charts over a chosen range. */
export const nodePage: Page = (root, ctx) => {
  const node = ctx.params.node;
  document.title = `${node} — XIMP`;
  const factsSlot = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const chartsSlot = h('div');
  let removeCharts: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const draw = (): void => {
    if (timer !== null) clearTimeout(timer);
    removeCharts?.();
    const range = picker.current();
    removeCharts = drawChartGrid(chartsSlot, node, NODE_CHARTS, windowFor(range, Date.now()));
    timer = setTimeout(draw, refreshEvery(range));
  };
  const picker = rangePicker(draw);
  const refresh = h('button', { type: 'button', class: 'secondary', onclick: draw }, 'Refresh');

  root.append(
    h('p', null, h('a', { href: '/fleet' }, '← Fleet')),
    h('h1', null, `Node ${node}`),
    h('section', { 'aria-labelledby': 'host-title' }, h('h2', { id: 'host-title' }, 'Host'), factsSlot),
    h('section', { 'aria-labelledby': 'charts-title' }, h('h2', { id: 'charts-title' }, 'Metrics'), h('div', { class: 'toolbar' }, picker.element, refresh), chartsSlot),
  );

  api.get<AgentDetailJson>(`/api/v1/agents/${encodeURIComponent(node)}`).then(
    (agent) => {
      factsSlot.replaceChildren(facts(agent));
      if (agent.host === null || agent.host === undefined) factsSlot.append(h('p', { class: 'muted' }, 'The host facts appear once the agent has connected.'));
    },
    (err: unknown) => {
      const text = err instanceof ApiError && err.status === 404 ? `There is no agent named ${node}.` : `The agent could not be read: ${errorText(err)}`;
      factsSlot.replaceChildren(notice('error', text));
    },
  );
  draw();

  return () => {
    if (timer !== null) clearTimeout(timer);
    removeCharts?.();
  };
};
