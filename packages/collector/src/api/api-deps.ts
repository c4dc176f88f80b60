import type { Logger } from '@ximp/shared';
import type { AlertHistory } from '../alerting/alert-history';
import type { KeptAlert } from '../alerting/alert-instances';
import type { AlertRuleStore } from '../alerting/alert-rule-store';
import type { ChannelStore } from '../alerting/channel-store';
import type { DeliveryResult } from '../alerting/notifier';
import type { AuditLog } from '../audit/audit-log';
import type { AccessTokenStore } from '../auth/access-token-store';
import type { AgentTokenStore } from '../auth/agent-token-store';
import type { ApiClientStore } from '../auth/api-client-store';
import type { CaRollResult, CaRollStep } from '../pki/ca-roll';
import type { LeafComponent } from '../pki/components';
import type { AgentView } from '../registry/agent-state';
import type { RetentionSetting } from '../store/retention-setting';
import type { SeriesQuery } from '../store/series-query';
import type { CertificateView, RenewedCertificate } from '../pki/certificate-manager';
import type { LocalUserStore } from '../web/local-user-store';
import type { SignInLimiter } from '../web/sign-in-limiter';
import type { WebSessionStore } from '../web/web-session-store';
import type { OidcSignInDep } from './oidc-routes';
import type { DashboardStore } from '../dashboards/dashboard-store';

export type { AgentState, AgentView } from '../registry/agent-state';

/** The live sessions a revocation closed, as the CLI prints them. */
export interface ClosedSession {
  node: string;
  address: string;
}

/** What the admin API needs from the rest of the collector; injected so tests can supply fakes. */
export interface ApiDeps {
  tokens: AgentTokenStore;
  clients: ApiClientStore;
  accessTokens: AccessTokenStore;
  audit: AuditLog;
  /** The agent registry. */
  agents: {
    list(): AgentView[];
    get(node: string): AgentView | undefined;
    /** Tells of connects, disconnects and changes to ACTIVE at once (the live fleet); absent: polled only. */
    onChange?(listener: (node: string) => void): () => void;
  };
  /** The ingest server: closes every live session of a token at once. */
  sessions: { closeSessionsOfToken(tokenId: string, closeCode: number, reason: string): ClosedSession[] };
  /** Series queries on the embedded store, bounded in range, points and concurrency. */
  series: Pick<SeriesQuery, 'limits' | 'read'>;
  /** The embedded store's retention: collector.yaml's default or an admin's setting. */
  retention: Pick<RetentionSetting, 'current' | 'set'>;
  /** Nodes whose session is held back by a full remote-store queue (`store: "held"` in the agent list). */
  heldBackNodes?: () => ReadonlySet<string>;
  /**
   * The certificate manager: status and on-demand renewal of the PKI components. Absent until it
   * is wired in; the TLS routes then answer 503.
   */
  certificates?: {
    status(component?: CertificateView['component']): CertificateView[];
    renew(components: readonly LeafComponent[] | 'all'): Promise<RenewedCertificate[]>;
    /** One step of the CA roll; absent: the route answers 503. */
    rollCa?(step: CaRollStep): Promise<CaRollResult<RenewedCertificate>>;
  };
  /** Alert rules, channels, active alerts and history (SPEC §14); absent: those routes answer 503. */
  alerting?: {
    rules: AlertRuleStore;
    channels: ChannelStore;
    active(): KeptAlert[];
    history: Pick<AlertHistory, 'list'>;
    /** Sends a test notification through the channel now; the attempt is in the history. */
    testChannel(name: string): Promise<DeliveryResult>;
  };
  /**
   * Dashboard sessions (SPEC §15): a route with a permission takes the session cookie when no
   * Authorization header is sent. Absent: bearer tokens only, and /auth/* answers 503.
   */
  webSessions?: WebSessionStore;
  /** Local dashboard users; absent: /auth/login and /api/v1/users answer 503. */
  users?: LocalUserStore;
  /** Failed sign-ins per name and address; absent: /auth/login answers 503. */
  signInLimiter?: SignInLimiter;
  /**
   * OIDC sign-in when configured (web/oidc-sign-in.ts): /auth/methods offers "Sign in with
   * <displayName>" once the provider is discovered; /auth/oidc/* answer 404 without it.
   */
  oidc?: OidcSignInDep;
  /** Saved dashboards (dashboard contract); absent: those routes answer 503. */
  dashboards?: Pick<DashboardStore, 'list' | 'get' | 'create' | 'update' | 'delete'>;
  /** The collector's own metrics (CollectorMetrics), for GET /metrics. */
  metrics: { readonly contentType: string; metrics(): Promise<string> };
  config: {
    accessTokenTtlMs: number;
    /** `api.allow_cidrs`; empty = every address. */
    allowCidrs: string[];
    /** Lifetime of an agent token created without `expires` (365 d). */
    defaultTokenExpiryMs: number;
  };
  tls: { cert: string; key: string };
  /** The built dashboard served at `/` (web/static-site.ts); default packages/web/dist. */
  webRoot?: string;
  log: Logger;
  now(): number;
}
