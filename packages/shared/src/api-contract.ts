/**
 * The admin API's answers (SPEC §5, §6, §10), written once: the collector builds them with these
 * types and the dashboard reads them with the same ones, so a field added, renamed or made
 * nullable on one side fails the other's type check instead of drifting. Times are ISO 8601
 * strings; null where a time is unknown or never happened. Types only: nothing here runs.
 */
import type { AgentTokenRevokeStatus, ClosedSessionJson } from './agent-token-revocation';

/** An agent as `GET /api/v1/agents` lists it and the fleet's event stream sends it. */
export interface AgentJson {
  node: string;
  state: string;
  last_seen: string | null;
  address: string | null;
  version: string | null;
  token_id: string | null;
  /** What runs the agent, from its Hello (e.g. "node v24.22.3"); "" from older agents, null before any Hello. */
  runtime: string | null;
  /** `held` while the agent's session is not acknowledged because a remote store's queue is full. */
  store: 'ok' | 'held';
  /** When the agent's token expires, null when unknown. */
  token_expires_at: string | null;
  /** The agent's clock minus the collector's, ms (positive: the agent is ahead); null when unknown. */
  clock_skew_ms: number | null;
  /** Batches waiting in the agent's spool (estimated from its latest batch); null when unknown. */
  spool_backlog: number | null;
}

/** Host facts from the agent's Hello; a fact the agent did not send (or sent malformed) is null. */
export interface HostJson {
  hostname: string | null;
  os: string | null;
  kernel: string | null;
  arch: string | null;
  cpu_model: string | null;
  cpu_count: number | null;
  memory_bytes: number | null;
  virtualization: string | null;
  runtime: string | null;
}

/** `GET /api/v1/agents/{node}`: the listing's fields and the host facts (null before any Hello). */
export interface AgentDetailJson extends AgentJson {
  host: HostJson | null;
}

/** An agent token as listed (never the secret). */
export interface AgentTokenJson {
  id: string;
  node: string;
  status: 'valid' | 'expired' | 'revoked';
  created: string | null;
  expires: string | null;
  /** Whole days until expiry by the collector's clock; 0 once expired. */
  days_left: number;
  revoked: string | null;
  last_used: string | null;
}

/** `POST /api/v1/agent-tokens` (201): the only answer that carries the token. */
export interface CreatedAgentTokenJson {
  id: string;
  node: string;
  created: string | null;
  expires: string | null;
  token: string;
}

/** `DELETE /api/v1/agent-tokens/{id}` (200; an unknown id answers 404). */
export interface RevokedAgentTokenJson {
  id: string;
  status: Exclude<AgentTokenRevokeStatus, 'not_found'>;
  closed_sessions: ClosedSessionJson[];
}

/** An API client as listed (never its secret). */
export interface ApiClientJson {
  id: string;
  name: string;
  role: string;
  created: string | null;
  last_used: string | null;
  status: 'active' | 'revoked';
  revoked: string | null;
  secret_rotated: string | null;
  /** The nodes it may see (a glob such as `web-*`), or null for every node. */
  nodes: string | null;
}

/** `DELETE /api/v1/clients/{id}` (200; an unknown id answers 404, the last active admin 409). */
export interface RevokedApiClientJson {
  id: string;
  status: 'revoked' | 'already_revoked';
}

/** `POST /api/v1/clients/{id}/rotate-secret`: the new secret, shown this once. */
export interface ApiClientSecretJson {
  client_id: string;
  client_secret: string;
}

/** `POST /api/v1/clients` (201): the new client with its secret, shown this once. */
export interface CreatedApiClientJson extends ApiClientSecretJson {
  name: string;
  role: string;
  nodes: string | null;
  created: string | null;
}

/** A dashboard user as listed (never a password or its hash). */
export interface UserJson {
  name: string;
  role: string;
  nodes: string | null;
  disabled: boolean;
  must_change_password: boolean;
  created_at: string | null;
  last_login_at: string | null;
}

/** `GET /api/v1/users`. */
export interface UserListJson {
  users: UserJson[];
}

/** `POST /api/v1/users/{name}/reset-password`: the one-time password, shown this once. */
export interface UserPasswordJson {
  name: string;
  password: string;
}

/** `POST /api/v1/users` (201): the new user with its one-time password. */
export interface CreatedUserJson extends UserPasswordJson {
  role: string;
  nodes: string | null;
}

/** A certificate as `GET /api/v1/tls/certificates` lists it. */
export interface CertificateJson {
  /** `ca`, `collector`, `api`, `store-client`; `ca-next` / `ca-old` while the CA is rolled; `store-client:<store>` for a store's own pair. */
  component: string;
  subject: string;
  issuer: string;
  serial: string;
  not_before: string;
  not_after: string;
  /** Whole days left, rounded down; negative once expired. */
  days_left: number;
  status: 'ok' | 'renew-due' | 'expired' | 'error';
  source: 'managed' | 'file';
  /** The last renewal failure (or why the files are unusable) while status is `error`; never key material. */
  error: string | null;
  /** SOURCE `file` only: the operator's certificate file. */
  cert_file?: string;
}

/** One leaf `POST /api/v1/tls/renew` renewed. */
export interface RenewedJson {
  component: string;
  serial: string;
  not_after: string;
}

/** An alert pending or firing, as `GET /api/v1/alerts` lists it. */
export interface ActiveAlertJson {
  rule: string;
  /** The rule and its labels, one string: what the alert is keyed by. */
  instance: string;
  node: string | null;
  labels: Record<string, string>;
  status: 'pending' | 'firing';
  active_since: string | null;
  fired_at: string | null;
  value: number | null;
}

/** One entry of `GET /api/v1/alerts/history`: a transition, or a delivery to a channel. */
export interface AlertHistoryEntryJson {
  time: string | null;
  rule: string;
  instance: string;
  node: string | null;
  event: 'pending' | 'firing' | 'resolved' | 'cleared' | 'delivery';
  value: number | null;
  /** Deliveries only. */
  channel: string | null;
  outcome: 'ok' | 'failed' | null;
  detail: string | null;
}

/** One entry of `GET /api/v1/audit`, newest first. */
export interface AuditEntryJson {
  time: string;
  actor: string;
  action: string;
  target: string;
  source: string;
  /** Only on entries that have one. */
  reason?: string;
}

export type AlertRuleKind = 'agent_down' | 'threshold' | 'token_expiry' | 'certificate_expiry';

/** An alert rule as written (the body of POST and PUT) and read back; the settings by kind. */
export interface AlertRuleJson {
  name: string;
  kind: AlertRuleKind;
  /** threshold only: the metric, its series' labels, how they combine, and the comparison. */
  metric?: string;
  matchers?: Record<string, string>;
  aggregate?: string;
  /** threshold only: per-second rate over this window (counters); absent: the value itself. */
  rate?: string;
  op?: string;
  value?: number;
  /** token_expiry and certificate_expiry: fires when expiry is this close. */
  within?: string;
  for: string;
  /** Only nodes matching this glob; null: every node. */
  nodes: string | null;
  channels: string[];
  enabled: boolean;
}

/** A rule as `GET /api/v1/alert-rules` answers it: the rule and what the collector keeps of it. */
export interface StoredAlertRuleJson extends AlertRuleJson {
  built_in: boolean;
  created: string | null;
  updated: string | null;
}

/** One chart of a dashboard: a metric shaped for drawing; the node is chosen when it is drawn. */
export interface DashboardPanelJson {
  title: string;
  metric: string;
  matchers: Record<string, string>;
  /** As stored, or per-second rate (counters). */
  function: 'raw' | 'rate';
  /** `none`: one line per series. */
  aggregation: 'none' | 'avg' | 'min' | 'max' | 'sum';
  /** Labels the aggregation keeps (one line per value); absent: one line in all. */
  by?: string[];
  unit: 'bytes' | 'percent' | 'seconds' | 'bytes/s' | 'none';
}

/** A saved dashboard, as `GET /api/v1/dashboards/{id}` answers it and the list holds it. */
export interface DashboardJson {
  id: string;
  name: string;
  builtin: boolean;
  panels: DashboardPanelJson[];
  created_by: string;
  updated_at: string | null;
}

/** `GET /api/v1/dashboards`. */
export interface DashboardListJson {
  dashboards: DashboardJson[];
}

/** `GET` and `PUT /api/v1/store/retention`. */
export interface RetentionJson {
  retention: string;
  retention_seconds: number;
  /** `default`: collector.yaml's `store.retention`; `setting`: set through this API (it outlives restarts). */
  source: 'default' | 'setting';
}
