import type { AgentView } from './api-deps';
import { HttpError, invalidRequest } from './http-error';
import { isoOrNull } from './iso-time';
import { checkNodeName } from './request-fields';
import type { Route } from './route-table';

/** An agent as the API shows it (SPEC §5). */
export interface AgentJson {
  node: string;
  state: string;
  last_seen: string | null;
  address: string | null;
  version: string | null;
  token_id: string | null;
}

export function agentJson(view: AgentView): AgentJson {
  return {
    node: view.node,
    state: view.state,
    last_seen: isoOrNull(view.lastSeenMs),
    address: view.address,
    version: view.version,
    token_id: view.tokenId,
  };
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,255}$/;
const DEFAULT_RANGE_MS = 3_600_000;

/** A time query parameter: unix milliseconds or ISO 8601. */
function timeParam(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw invalidRequest(`${name}: expected unix milliseconds or an ISO 8601 time`);
  return ms;
}

export const AGENT_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/agents',
    permission: 'agents:read',
    handler({ deps, query }) {
      const node = query.get('node');
      if (node !== null) checkNodeName(node, 'node');
      const agents = deps.agents.list().filter((a) => node === null || a.node === node);
      return { status: 200, body: agents.map(agentJson) };
    },
  },
  {
    method: 'GET',
    pattern: '/api/v1/agents/:node',
    permission: 'agents:read',
    handler({ deps, params }) {
      const node = checkNodeName(params.node, 'node');
      const view = deps.agents.get(node);
      if (view === undefined) throw new HttpError(404, 'not_found', `no agent "${node}"`);
      return { status: 200, body: agentJson(view) };
    },
  },
  {
    method: 'GET',
    pattern: '/api/v1/nodes/:node/series',
    permission: 'metrics:read',
    handler({ deps, params, query }) {
      const node = checkNodeName(params.node, 'node');
      const metric = query.get('metric');
      if (metric === null || metric === '') throw invalidRequest('metric: required');
      if (!METRIC_NAME.test(metric)) throw invalidRequest('metric: expected a Prometheus metric name');
      const to = timeParam(query, 'to', deps.now());
      const from = timeParam(query, 'from', to - DEFAULT_RANGE_MS);
      if (from > to) throw invalidRequest('from: must not be after to');
      return { status: 200, body: deps.metrics.query(node, metric, from, to) };
    },
  },
];
