import { httpsUrlProblem, parseNodeGlob, resolveRelativeTo, NODE_GLOB_FORM, type ConfigReader, type ListenAddress } from '@ximp/shared';
import { ROLES, isRole, type Role } from '../auth/roles';

/** collector.yaml `dashboard.oidc`: sign-in through the organisation's OpenID provider. */
export interface OidcConfig {
  /** The provider's issuer identifier (https). */
  issuer: string;
  clientId: string;
  /** Absolute path of the file holding the client secret; null for a public client (PKCE only). */
  clientSecretFile: string | null;
  /** Where the provider sends the browser back: `/auth/oidc/callback` on the API listener. */
  redirectUrl: string;
  scopes: string[];
  /** The claim whose value(s) decide the role and the node scope. */
  roleClaim: string;
  /** Claim value → role; the most privileged mapped role wins. */
  roleMap: Record<string, Role>;
  /** Claim value → node glob (normalised text); the globs of all matching values are joined. */
  nodeScopes: Record<string, string>;
  /** Absolute path of an extra CA to trust for the provider's certificate; null = system CAs only. */
  caFile: string | null;
  displayName: string;
  /** The claim naming the user; null = preferred_username, then email, then sub. */
  nameClaim: string | null;
}

export const OIDC_KEYS = [
  'issuer',
  'client_id',
  'client_secret_file',
  'redirect_url',
  'scopes',
  'role_claim',
  'role_map',
  'node_scopes',
  'ca_file',
  'display_name',
  'name_claim',
] as const;

export const OIDC_DEFAULTS = Object.freeze({
  scopes: Object.freeze(['openid', 'profile', 'email', 'groups']),
  roleClaim: 'groups',
  displayName: 'identity provider',
});

export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';

const CLAIM_NAME = /^[A-Za-z0-9_:./-]{1,128}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * Parses `dashboard.oidc` from the `dashboard` section (absent or null = no OIDC). Issues go to
 * the reader, by key path, with the rest of the file's. `hostnames` are `tls.hostnames`: the
 * default redirect URL names the API listener, or the first of them when it listens on a wildcard.
 */
export function parseOidcConfig(dashboard: ConfigReader, file: string, api: ListenAddress, hostnames: readonly string[]): OidcConfig | null {
  if (!dashboard.has('oidc')) return null;
  const r = dashboard.section('oidc', OIDC_KEYS);
  const nonEmptyPath = (v: string): string | null => (v.trim() === '' ? 'a file path' : null);
  const claimName = (v: string): string | null => (CLAIM_NAME.test(v) ? null : 'a claim name (letters, digits, _ : . / -)');

  const issuer = r.string('issuer', {
    required: true,
    check: (v) => httpsUrlProblem(v, { http: 'the provider is reached over TLS 1.3 only', userinfo: 'the issuer is a public identifier' }),
  });
  const clientId = r.string('client_id', { required: true, check: (v) => (v.length >= 1 && v.length <= 256 ? null : 'a client id of 1 to 256 characters') });
  const clientSecretFile = r.string('client_secret_file', { check: nonEmptyPath });
  const redirectUrl = r.string('redirect_url', {
    check: (v) =>
      httpsUrlProblem(v, { http: 'the session cookie is Secure', userinfo: 'the browser is sent there' }) ??
      (new URL(v).pathname === OIDC_CALLBACK_PATH ? null : `an https:// URL ending in ${OIDC_CALLBACK_PATH}`),
  });
  const scopes = r.stringList('scopes', { expected: 'a scope name', parse: (v) => (SCOPE.test(v) ? v : null), unique: true, nonEmpty: true });
  if (scopes !== undefined && scopes.length > 0 && !scopes.includes('openid')) r.report('scopes', 'expected a list that includes "openid"');
  const roleClaim = r.string('role_claim', { check: claimName });
  const issuesBefore = r.issues.length;
  const roleMap = r.stringMap('role_map', { what: 'claim value', maxEntries: 1000, checkValue: (v) => (isRole(v) ? null : `one of ${ROLES.join(', ')}`) });
  // An empty mapping (not one whose entries were all reported) would let nobody in.
  if (roleMap !== undefined && Object.keys(roleMap).length === 0 && r.issues.length === issuesBefore) {
    r.report('role_map', 'expected at least one claim value mapped to a role');
  }
  if (!r.has('role_map')) r.reportMissing('role_map', 'required key is missing (claim value → role; without it nobody could sign in)');
  const nodeScopes = r.stringMap('node_scopes', { what: 'claim value', maxEntries: 1000, checkValue: (v) => (parseNodeGlob(v) === null ? NODE_GLOB_FORM : null) });
  const caFile = r.string('ca_file', { check: nonEmptyPath });
  const displayName = r.string('display_name', { check: (v) => (v.trim().length >= 1 && v.length <= 64 && !/[\x00-\x1f\x7f]/.test(v) ? null : 'a name of 1 to 64 printable characters') });
  const nameClaim = r.string('name_claim', { check: claimName });

  let redirect = redirectUrl;
  if (redirect === undefined && !r.has('redirect_url')) {
    const host = WILDCARD_HOSTS.has(api.host) ? hostnames[0] : api.host;
    if (host === undefined) {
      r.reportMissing('redirect_url', 'required when listen.api is a wildcard address and tls.hostnames is empty (the URL the browser comes back to)');
    } else {
      redirect = `https://${host.includes(':') ? `[${host}]` : host}:${api.port}${OIDC_CALLBACK_PATH}`;
    }
  }

  if (issuer === undefined || clientId === undefined || redirect === undefined || roleMap === undefined) return null;
  const globs: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [value, glob] of Object.entries(nodeScopes ?? {})) globs[value] = parseNodeGlob(glob)?.text ?? glob;
  return {
    issuer,
    clientId,
    clientSecretFile: clientSecretFile === undefined ? null : resolveRelativeTo(file, clientSecretFile),
    redirectUrl: redirect,
    scopes: scopes ?? [...OIDC_DEFAULTS.scopes],
    roleClaim: roleClaim ?? OIDC_DEFAULTS.roleClaim,
    roleMap: roleMap as Record<string, Role>,
    nodeScopes: globs,
    caFile: caFile === undefined ? null : resolveRelativeTo(file, caFile),
    displayName: displayName ?? OIDC_DEFAULTS.displayName,
    nameClaim: nameClaim ?? null,
  };
}
