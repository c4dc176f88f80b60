import { formatDuration, type AgentDetailJson, type AgentJson, type HostJson } from '@ximp/shared';
import type { AgentView } from './api-deps';
import { requireNode, seesNode } from './bearer-auth';
import { HttpError, invalidRequest } from './http-error';
import { isoOrNull } from './iso-time';
import { checkNodeName, checkParams } from './request-fields';
import type { Route } from './route-table';
import { seriesJsonChunks } from './series-json-chunks';
import { MAX_STEPS, MIN_STEP_MS } from '../store/series-query';

const HOST_FIELDS: readonly [keyof HostJson, string, 'string' | 'number'][] = [
  ['hostname', 'hostname', 'string'],
  ['os', 'os', 'string'],
  ['kernel', 'kernel', 'string'],
  ['arch', 'arch', 'string'],
  ['cpu_model', 'cpuModel', 'string'],
  ['cpu_count', 'cpuCount', 'number'],
  ['memory_bytes', 'memoryBytes', 'number'],
  ['virtualization', 'virtualization', 'string'],
  ['runtime', 'runtime', 'string'],
];

/** Host facts as stored (HostFacts, maybe from an older agent) in snake_case; a field of the wrong type is null. */
export function hostJson(host: unknown): HostJson | null {
  if (host === null || typeof host !== 'object') return null;
  const facts = host as Record<string, unknown>;
  const out = {} as Record<keyof HostJson, string | number | null>;
  for (const [name, key, type] of HOST_FIELDS) out[name] = typeof facts[key] === type ? (facts[key] as string | number) : null;
  return out as unknown as HostJson;
}

export function agentJson(view: AgentView, held: ReadonlySet<string> = new Set()): AgentJson {
  return {
    node: view.node,
    state: view.state,
    last_seen: isoOrNull(view.lastSeenMs),
    address: view.address,
    version: view.version,
    token_id: view.tokenId,
    runtime: view.runtime,
    store: held.has(view.node) ? 'held' : 'ok',
    token_expires_at: isoOrNull(view.tokenExpiresMs),
    clock_skew_ms: view.clockSkewMs ?? null,
    spool_backlog: view.spoolBacklog ?? null,
  };
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,255}$/;
const DEFAULT_RANGE_MS = 3_600_000;
const SERIES_PARAMS = ['metric', 'from', 'to', 'step'];
/** Seconds a caller refused for want of a query slot is told to wait. */
const BUSY_RETRY_AFTER_S = 1;

/** A time query parameter: unix milliseconds or ISO 8601. */
function timeParam(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw invalidRequest(`${name}: expected unix milliseconds or an ISO 8601 time`);
  return ms;
}

/** `step`: whole milliseconds, at least MIN_STEP_MS; undefined when absent. */
function stepParam(query: URLSearchParams): number | undefined {
  const text = query.get('step');
  if (text === null) return undefined;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(ms >= MIN_STEP_MS)) throw invalidRequest(`step: expected whole milliseconds, at least ${MIN_STEP_MS}`);
  return ms;
}

/** 400 `query_too_large`: names the limit and its collector.yaml key, so the caller knows how far to narrow. */
function tooLarge(message: string): HttpError {
  return new HttpError(400, 'query_too_large', message);
}

export const AGENT_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/agents',
    permission: 'agents:read',
    handler({ deps, query, principal }) {
      const node = query.get('node');
      if (node !== null) checkNodeName(node, 'node');
      // A node-scoped client's collection holds only its nodes (SPEC §10).
      const agents = deps.agents.list().filter((a) => (node === null || a.node === node) && seesNode(principal, a.node));
      const held = deps.heldBackNodes?.() ?? new Set<string>();
      return { status: 200, body: agents.map((a) => agentJson(a, held)) };
    },
  },
  {
    method: 'GET',
    pattern: '/api/v1/agents/:node',
    permission: 'agents:read',
    handler({ deps, params, principal }) {
      const node = checkNodeName(params.node, 'node');
      requireNode(principal, node);
      const view = deps.agents.get(node);
      if (view === undefined) throw new HttpError(404, 'not_found', `no agent "${node}"`);
      return { status: 200, body: { ...agentJson(view, deps.heldBackNodes?.()), host: hostJson(view.host) } satisfies AgentDetailJson };
    },
  },
  {
    method: 'GET',
    pattern: '/api/v1/nodes/:node/series',
    permission: 'metrics:read',
    async handler({ deps, params, query, principal }) {
      const node = checkNodeName(params.node, 'node');
      requireNode(principal, node);
      checkParams(query, SERIES_PARAMS);
      const metric = query.get('metric');
      if (metric === null || metric === '') throw invalidRequest('metric: required');
      if (!METRIC_NAME.test(metric)) throw invalidRequest('metric: expected a Prometheus metric name');
      const to = timeParam(query, 'to', deps.now());
      const from = timeParam(query, 'from', to - DEFAULT_RANGE_MS);
      if (from > to) throw invalidRequest('from: must not be after to');
      const step = stepParam(query);
      const { maxRangeMs, maxPoints, maxConcurrent } = deps.series.limits;
      // With a step the points are bounded by the steps, so the range limit does not apply.
      if (step !== undefined && (to - from) / step > MAX_STEPS) {
        throw tooLarge(`the query covers ${Math.ceil((to - from) / step)} steps; at most ${MAX_STEPS} are allowed: raise step or narrow from and to`);
      }
      if (step === undefined && to - from > maxRangeMs) {
        throw tooLarge(`the time range is ${formatDuration(to - from)}; at most ${formatDuration(maxRangeMs)} is allowed (api.max_query_range): narrow from and to`);
      }
      const result = await deps.series.read(node, metric, from, to, step);
      if (result.kind === 'busy') {
        throw new HttpError(503, 'busy', `at most ${maxConcurrent} series queries run at once (api.max_concurrent_queries): retry later`, {
          'Retry-After': String(BUSY_RETRY_AFTER_S),
        });
      }
      if (result.kind === 'too_many_points') {
        throw tooLarge(
          `the query would return more than ${maxPoints} points (about ${result.estimate} or more); the limit is ${maxPoints} (api.max_query_points): narrow the time range`,
        );
      }
      return {
        status: 200,
        stream: { chunks: seriesJsonChunks(result.series), close: result.release },
        contentType: 'application/json; charset=utf-8',
      };
    },
  },
];
