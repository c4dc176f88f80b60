import * as fs from 'node:fs';
import * as tls from 'node:tls';
import type * as OpenId from 'openid-client' with { 'resolution-mode': 'import' };
import { Backoff, ErrorCodes, ThrottledLog, XimpError, type BackoffOptions, type Logger } from '@ximp/shared';
import type { OidcConfig } from './oidc-config';
import { OidcFlowStore, type OidcFlowStoreOptions } from './oidc-flow-store';
import { identityFromClaims, type OidcIdentity } from './oidc-identity';
import { providerFetch } from './provider-fetch';

type OpenIdClient = typeof OpenId;

export interface OidcSignInOptions {
  config: OidcConfig;
  log: Logger;
  now(): number;
  /** Discovery retries while the provider is unreachable (default 1 s doubling to 60 s). */
  retry?: BackoffOptions;
  flows?: Omit<OidcFlowStoreOptions, 'now'>;
}

/** Why a callback did not sign anyone in; each is a 400 page except `no_role` (403). */
export type OidcRefusal =
  | 'provider_error'
  | 'state_unknown'
  | 'state_expired'
  | 'state_mismatch'
  | 'exchange_failed'
  | 'no_name'
  | 'not_ready';

export type OidcCallbackResult =
  | { kind: 'signed_in'; identity: OidcIdentity }
  /** Who it was, but no claim value maps to a role. */
  | { kind: 'no_role'; identity: OidcIdentity }
  | { kind: 'refused'; reason: OidcRefusal; detail: string };

/** The provider's `error` parameter as shown and logged: a registered-looking code or nothing. */
function providerErrorCode(value: string | null): string {
  return value !== null && /^[a-z0-9_]{1,64}$/.test(value) ? value : 'unknown_error';
}

/** An openid-client failure as logged: its code and message, no response body, no URL query. */
function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; error?: unknown; message?: unknown };
  return {
    code: typeof e.code === 'string' ? e.code : undefined,
    error: typeof e.error === 'string' ? e.error : undefined,
    message: typeof e.message === 'string' ? e.message.slice(0, 200) : String(err).slice(0, 200),
  };
}

/**
 * Sign-in through the organisation's OpenID provider (SPEC §15): discovery (retried with backoff
 * while the provider is down), authorization code with PKCE S256, state and nonce kept here, and
 * the verified claims mapped to a role and node scope. openid-client is ESM only: loaded with a
 * real dynamic import from this CommonJS build.
 */
export class OidcSignIn {
  private client: OpenIdClient | null = null;
  private configuration: OpenId.Configuration | null = null;
  private readonly flows: OidcFlowStore;
  private readonly backoff: Backoff;
  private readonly failures: ThrottledLog;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private secret: string | null = null;
  private ca: string[] | undefined;

  constructor(private readonly options: OidcSignInOptions) {
    this.flows = new OidcFlowStore({ ...options.flows, now: options.now });
    this.backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, ...options.retry });
    this.failures = new ThrottledLog({ log: options.log, now: options.now });
  }

  /** `display_name`: whom the sign-in button names. */
  get displayName(): string {
    return this.options.config.displayName;
  }

  /** `role_claim`: the claim the role and node scope are read from. */
  get roleClaim(): string {
    return this.options.config.roleClaim;
  }

  /** The button text of /auth/methods. */
  get label(): string {
    return `Sign in with ${this.options.config.displayName}`;
  }

  /** True once the provider's metadata was read: only then is OIDC offered. */
  get ready(): boolean {
    return this.configuration !== null;
  }

  /** How long a started sign-in stays valid, for the cookie's Max-Age. */
  get flowTtlMs(): number {
    return this.flows.ttl;
  }

  /** Refusals and failures by kind (oidc_discovery, oidc_exchange, ...), for /metrics. */
  failureTotals(): ReadonlyMap<string, number> {
    return this.failures.totalsByKey();
  }

  /**
   * Reads the client secret and CA files (XIMP_ERR_SECRET_UNREADABLE, XIMP_ERR_CONFIG_UNREADABLE)
   * and starts discovery in the background; an unreachable provider is retried, not fatal.
   */
  async start(): Promise<void> {
    if (this.started) return;
    const { config } = this.options;
    if (config.clientSecretFile !== null) {
      try {
        this.secret = fs.readFileSync(config.clientSecretFile, 'utf8').trim();
      } catch (err) {
        throw new XimpError(ErrorCodes.SECRET_UNREADABLE, `cannot read dashboard.oidc.client_secret_file ${config.clientSecretFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (this.secret === '') throw new XimpError(ErrorCodes.SECRET_UNREADABLE, `dashboard.oidc.client_secret_file ${config.clientSecretFile} is empty`);
    }
    if (config.caFile !== null) {
      try {
        this.ca = [...tls.rootCertificates, fs.readFileSync(config.caFile, 'utf8')];
      } catch (err) {
        throw new XimpError(ErrorCodes.CONFIG_UNREADABLE, `cannot read dashboard.oidc.ca_file ${config.caFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    this.client = await import('openid-client');
    this.started = true;
    void this.discover();
  }

  /** Stops retrying discovery. Idempotent. */
  stop(): void {
    this.started = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async discover(): Promise<void> {
    const client = this.client;
    if (!this.started || client === null) return;
    const { config, log } = this.options;
    try {
      const metadata: Partial<OpenId.ClientMetadata> = { redirect_uris: [config.redirectUrl], response_types: ['code'] };
      const auth = this.secret === null ? client.None() : client.ClientSecretBasic(this.secret);
      const configuration = await client.discovery(new URL(config.issuer), config.clientId, metadata, auth, {
        [client.customFetch]: providerFetch({ ca: this.ca }) as OpenId.CustomFetch,
      });
      if (!this.started) return;
      this.configuration = configuration;
      this.backoff.reset();
      log.info({ issuer: config.issuer }, 'oidc provider discovered');
    } catch (err) {
      if (!this.started) return;
      const delay = this.backoff.next();
      this.failures.report('warn', 'oidc_discovery', { issuer: config.issuer, retry_ms: delay, ...errorFields(err) }, 'oidc discovery failed, retrying');
      this.timer = setTimeout(() => void this.discover(), delay);
      this.timer.unref();
    }
  }

  /**
   * Starts a sign-in: a fresh state, nonce and PKCE verifier kept under a random key. Returns the
   * provider URL to send the browser to and the key for the `__Host-ximp-oidc` cookie; null while
   * the provider is not discovered yet.
   */
  async begin(): Promise<{ location: string; flowKey: string } | null> {
    const client = this.client;
    const configuration = this.configuration;
    if (client === null || configuration === null) return null;
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const location = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.options.config.redirectUrl,
      scope: this.options.config.scopes.join(' '),
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const dropped = this.flows.dropped;
    const flowKey = this.flows.put({ state, nonce, codeVerifier });
    if (this.flows.dropped > dropped) this.failures.report('warn', 'oidc_flow_dropped', {}, 'oidc sign-ins in progress at the bound, the oldest dropped');
    return { location: location.href, flowKey };
  }

  /**
   * Finishes a sign-in from the provider's redirect: `query` is the callback's query string,
   * `flowKey` the cookie's value. The flow is taken whatever happens, so a callback works once.
   */
  async finish(flowKey: string | undefined, query: URLSearchParams): Promise<OidcCallbackResult> {
    const lookup = this.flows.take(flowKey);
    if (query.has('error')) {
      const code = providerErrorCode(query.get('error'));
      this.failures.report('warn', 'oidc_provider_error', { error: code }, 'oidc provider refused the sign-in');
      return { kind: 'refused', reason: 'provider_error', detail: code };
    }
    if (lookup.kind === 'unknown') return this.refuse('state_unknown', 'no sign-in in progress for this browser (already used, or never started)');
    if (lookup.kind === 'expired') return this.refuse('state_expired', 'the sign-in took too long');
    const { flow } = lookup;
    if (query.get('state') !== flow.state) return this.refuse('state_mismatch', 'the answer does not belong to the sign-in this browser started');
    const client = this.client;
    const configuration = this.configuration;
    if (client === null || configuration === null) return this.refuse('not_ready', 'the identity provider is not available');
    const { config } = this.options;
    let claims: Record<string, unknown>;
    try {
      // The redirect URL as configured, not as the Host header says: it is what the provider registered.
      const currentUrl = new URL(config.redirectUrl);
      currentUrl.search = query.toString();
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
      claims = { ...idClaims };
      // Providers put scope claims (groups, email) in userinfo unless asked for them in the ID token.
      const missing = !(config.roleClaim in idClaims) || !((config.nameClaim ?? 'preferred_username') in idClaims);
      if (missing && configuration.serverMetadata().userinfo_endpoint !== undefined && typeof idClaims.sub === 'string') {
        const userinfo = (await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub)) as Record<string, unknown>;
        claims = { ...userinfo, ...idClaims };
      }
    } catch (err) {
      this.failures.report('warn', 'oidc_exchange', errorFields(err), 'oidc code exchange failed');
      return { kind: 'refused', reason: 'exchange_failed', detail: 'the identity provider\'s answer could not be verified' };
    }
    const identity = identityFromClaims(claims, config);
    if (identity === null) return this.refuse('no_name', 'the identity provider named no user');
    if (identity.role === null) return { kind: 'no_role', identity };
    return { kind: 'signed_in', identity };
  }

  private refuse(reason: OidcRefusal, detail: string): OidcCallbackResult {
    this.failures.report('warn', `oidc_${reason}`, { reason }, 'oidc callback refused');
    return { kind: 'refused', reason, detail };
  }
}
