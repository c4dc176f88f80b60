/** The collector's own metrics in Prometheus text format, for GET /metrics. */
export interface CollectorMetricsSources {
  agentServer: {
    counters: object;
    sessionCount(): number;
  };
  metricStore: object;
  registry: { list(): { state: string }[]; spoolDrops(): { node: string; droppedTotal: number }[] };
  /** Faults the collector carried on after (storage errors and the like), by kind. */
  faults?: { totals(): ReadonlyMap<string, number> };
  /** Agent input refused for a limit (series, future batches), by kind. */
  refusals?: { totalsByKey(): ReadonlyMap<string, number> };
  /** What the API listener and the series queries refused, by kind. */
  apiRefusals?: () => ReadonlyMap<string, number>;
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function collectorMetricsText(sources: CollectorMetricsSources): string {
  const lines: string[] = [];
  const counter = (name: string, help: string, value: number): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
  };
  for (const [key, value] of Object.entries(sources.agentServer.counters as Record<string, number>)) {
    counter(`ximp_collector_ingest_${snake(key)}_total`, `Agent ingest: ${snake(key).replace(/_/g, ' ')}.`, value);
  }
  const storeCounters = (sources.metricStore as { counters?: Record<string, number> }).counters ?? {};
  for (const [key, value] of Object.entries(storeCounters)) {
    counter(`ximp_collector_store_${snake(key)}_total`, `Embedded store: ${snake(key).replace(/_/g, ' ')}.`, value);
  }
  const byKind = (name: string, help: string, totals: ReadonlyMap<string, number> | undefined): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [kind, n] of totals ?? []) lines.push(`${name}{kind="${kind}"} ${n}`);
  };
  byKind('ximp_collector_faults_total', 'Faults the collector carried on after (storage errors and the like), by kind.', sources.faults?.totals());
  byKind('ximp_collector_ingest_refusals_total', 'Agent sessions closed for input over a limit, by kind.', sources.refusals?.totalsByKey());
  byKind('ximp_collector_api_refusals_total', 'API connections and requests refused (allowlist, per-address cap, capacity, grants, queries), by kind.', sources.apiRefusals?.());
  lines.push('# HELP ximp_collector_agent_sessions Live agent sessions.', '# TYPE ximp_collector_agent_sessions gauge');
  lines.push(`ximp_collector_agent_sessions ${sources.agentServer.sessionCount()}`);
  const byState = new Map<string, number>([['ACTIVE', 0], ['STALE', 0], ['DISCONNECTED', 0], ['PENDING', 0]]);
  for (const agent of sources.registry.list()) byState.set(agent.state, (byState.get(agent.state) ?? 0) + 1);
  lines.push('# HELP ximp_collector_agents Agents by state.', '# TYPE ximp_collector_agents gauge');
  for (const [state, n] of byState) lines.push(`ximp_collector_agents{state="${state}"} ${n}`);
  const drops = sources.registry.spoolDrops();
  if (drops.length > 0) {
    lines.push(
      '# HELP ximp_collector_agent_spool_dropped_batches Batches an agent dropped from its full spool since its stream began, as it reports.',
      '# TYPE ximp_collector_agent_spool_dropped_batches gauge',
    );
    for (const d of drops) lines.push(`ximp_collector_agent_spool_dropped_batches{node="${d.node}"} ${d.droppedTotal}`);
  }
  return `${lines.join('\n')}\n`;
}
