// A real OpenID provider (oidc-provider 9) over HTTPS/TLS 1.3 on 127.0.0.1:0 with a test CA, and a
// small cookie-keeping HTTPS client that signs in through it (not itself a test).
import * as crypto from 'node:crypto';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CertificateAuthority } from '../../packages/collector/src/pki/certificate-authority';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** One test account: its login at the dev login form, and the claims the provider releases. */
export interface TestAccount {
  preferred_username?: string;
  email?: string;
  groups?: string[];
  [claim: string]: unknown;
}

export interface OidcProviderOptions {
  /** The client's registered redirect URIs (the collector's `/auth/oidc/callback`). */
  redirectUris: string[];
  /** Accounts by login (any password is accepted at the dev login form). */
  accounts: Record<string, TestAccount>;
  clientId?: string;
  /** null for a public client (token_endpoint_auth_method none); default a random secret. */
  clientSecret?: string | null;
  /** Listen on this loopback port (default: one the kernel picks). */
  port?: number;
}

/** What the token endpoint received, to prove the PKCE verifier was sent. */
export interface TokenRequestSeen {
  grantType: string;
  codeVerifierSent: boolean;
}

export interface TestOidcProvider {
  issuer: string;
  /** The test CA (PEM) the provider's certificate chains to. */
  caPem: string;
  clientId: string;
  clientSecret: string | null;
  /** Successful token requests, in order. */
  tokenRequests: TokenRequestSeen[];
  /** Errors the provider answered (e.g. `invalid_grant`), in order. */
  errors: string[];
  stop(): Promise<void>;
}

const ca = CertificateAuthority.create({ commonName: 'XIMP OIDC test CA' });
/** The CA (PEM) every provider of this process presents a certificate of, for a ca_file written before it starts. */
export const OIDC_TEST_CA_PEM = ca.certPem;
const leaf = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] });

/** oidc-provider ships no types; the few members used here. */
interface ProviderInstance {
  callback(): (req: unknown, res: unknown) => void;
  on(event: string, listener: (...args: any[]) => void): void;
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

/**
 * Starts oidc-provider with one client, PKCE required, a `groups` scope releasing the `groups`
 * claim, and its development login and consent forms (any login is accepted). Stops at teardown.
 */
export async function startOidcProvider(t: Teardown, options: OidcProviderOptions): Promise<TestOidcProvider> {
  // ESM only; a specifier in a variable keeps the compiler from looking for types it has none of.
  const specifier = 'oidc-provider';
  const Provider = ((await import(specifier)) as { default: ProviderClass }).default;
  const clientId = options.clientId ?? 'ximp-dashboard';
  const clientSecret = options.clientSecret === undefined ? crypto.randomBytes(24).toString('base64url') : options.clientSecret;
  const tokenRequests: TokenRequestSeen[] = [];
  const errors: string[] = [];

  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        ...(clientSecret === null ? { token_endpoint_auth_method: 'none' } : { client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, sub: string) {
      const account = options.accounts[sub];
      if (account === undefined) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });
  provider.on('grant.success', (ctx: { oidc: { params: Record<string, unknown> } }) => {
    tokenRequests.push({ grantType: String(ctx.oidc.params.grant_type), codeVerifierSent: typeof ctx.oidc.params.code_verifier === 'string' });
  });
  for (const event of ['grant.error', 'authorization.error', 'server_error']) {
    provider.on(event, (_ctx: unknown, err: { error?: string; message?: string }) => errors.push(err?.error ?? err?.message ?? event));
  }
  server.on('request', provider.callback());

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return stopped;
  };
  t.teardown(stop);
  return { issuer, caPem: ca.certPem, clientId, clientSecret, tokenRequests, errors, stop };
}

export interface BrowserResponse {
  status: number;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * An HTTPS client that keeps cookies per origin (by name; enough for these two servers) and can
 * follow redirects: what a browser does in a code flow, without the browser.
 */
export class TestBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  constructor(private readonly caPems: string[]) {}

  /** The cookies held for an origin (`https://127.0.0.1:1234`). */
  cookies(origin: string): Map<string, string> {
    let jar = this.jars.get(origin);
    if (jar === undefined) {
      jar = new Map();
      this.jars.set(origin, jar);
    }
    return jar;
  }

  /** One request, no redirect followed; Set-Cookie kept (Max-Age=0 or a past Expires removes). */
  request(method: string, url: string, options: { body?: string; headers?: Record<string, string> } = {}): Promise<BrowserResponse> {
    const target = new URL(url);
    const jar = this.cookies(target.origin);
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (jar.size > 0) headers.Cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (options.body !== undefined) {
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(options.body));
    }
    return new Promise((resolve, reject) => {
      const req = https.request(target, { method, headers, ca: this.caPems, minVersion: 'TLSv1.3', agent: false });
      req.on('error', reject);
      req.on('response', (res) => {
        for (const line of res.headers['set-cookie'] ?? []) {
          const [pair, ...attributes] = line.split(';');
          const eq = pair.indexOf('=');
          const name = pair.slice(0, eq).trim();
          const value = pair.slice(eq + 1).trim();
          const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
          if (expired || value === '') jar.delete(name);
          else jar.set(name, value);
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, url, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(options.body);
    });
  }

  /**
   * GETs `url` and follows redirects (at most `max`), stopping early after a hop `until` accepts;
   * every hop's response in order.
   */
  async follow(url: string, options: { max?: number; until?: (res: BrowserResponse) => boolean } = {}): Promise<BrowserResponse[]> {
    const max = options.max ?? 20;
    const hops: BrowserResponse[] = [];
    let next = url;
    for (let i = 0; i < max; i++) {
      const res = await this.request('GET', next);
      hops.push(res);
      const location = res.headers.location;
      if (res.status < 300 || res.status >= 400 || typeof location !== 'string' || options.until?.(res)) return hops;
      next = new URL(location, next).href;
    }
    throw new Error(`more than ${max} redirects from ${url}`);
  }

  /**
   * Submits the provider's dev login form (any password) and then its consent form, following
   * redirects after each; returns the hops after the last form, the last one the relying party's
   * answer to its callback (not followed further).
   */
  async signInAtProvider(page: BrowserResponse, login: string): Promise<BrowserResponse[]> {
    let current = page;
    for (let step = 0; step < 4; step++) {
      const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(current.text);
      if (form === null) return [current];
      const action = new URL(form[1].replace(/&amp;/g, '&'), current.url).href;
      const fields = new URLSearchParams();
      for (const input of current.text.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) fields.set(input[1], input[2]);
      if (/name="login"/.test(current.text)) {
        fields.set('login', login);
        fields.set('password', 'any password');
      }
      const posted = await this.request('POST', action, { body: fields.toString() });
      const location = posted.headers.location;
      if (typeof location !== 'string') return [posted];
      // Stop at the first answer from elsewhere: the relying party's callback.
      const providerOrigin = new URL(action).origin;
      const hops = await this.follow(new URL(location, action).href, { until: (res) => new URL(res.url).origin !== providerOrigin });
      const last = hops[hops.length - 1];
      if (new URL(last.url).origin !== providerOrigin) return hops;
      current = last;
    }
    throw new Error('the provider kept asking for more forms');
  }
}
