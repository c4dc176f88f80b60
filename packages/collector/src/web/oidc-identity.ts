import { parseNodeGlob } from '@ximp/shared';
import { ROLES, type Role } from '../auth/roles';
import type { OidcConfig } from './oidc-config';

/** Who signed in through the provider, and what XIMP lets them do. */
export interface OidcIdentity {
  name: string;
  /** The `name` claim (a person's full name) when usable, else the name. */
  displayName: string;
  /** The most privileged role any claim value maps to; null = no mapped role (refused). */
  role: Role | null;
  /** The node glob of the matched `node_scopes` values joined; null = every node. */
  nodes: string | null;
}

/** Values of one claim considered at most: a user in thousands of groups still costs little. */
const MAX_CLAIM_VALUES = 1000;
const MAX_NAME_LENGTH = 256;
const DEFAULT_NAME_CLAIMS = ['preferred_username', 'email'];

/** A claim as a list of strings: a string is one value, a list keeps its strings, anything else none. */
function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string').slice(0, MAX_CLAIM_VALUES);
  return [];
}

function usableName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (value.length === 0 || value.length > MAX_NAME_LENGTH || /[\x00-\x1f\x7f]/.test(value)) return null;
  return value;
}

/**
 * Maps verified claims (ID token, then userinfo) to a name, a role and a node scope. Pure. The
 * name is `name_claim` (default preferred_username), then email, then sub; null when none is usable.
 */
export function identityFromClaims(
  claims: Readonly<Record<string, unknown>>,
  config: Pick<OidcConfig, 'roleClaim' | 'roleMap' | 'nodeScopes' | 'nameClaim'>,
): OidcIdentity | null {
  const nameClaims = config.nameClaim === null ? DEFAULT_NAME_CLAIMS : [config.nameClaim, 'email'];
  let name: string | null = null;
  for (const claim of [...nameClaims, 'sub']) {
    name = usableName(claims[claim]);
    if (name !== null) break;
  }
  if (name === null) return null;

  const values = claimValues(claims[config.roleClaim]);
  let rank = -1;
  const globs: string[] = [];
  for (const value of values) {
    if (Object.prototype.hasOwnProperty.call(config.roleMap, value)) rank = Math.max(rank, ROLES.indexOf(config.roleMap[value]));
    if (Object.prototype.hasOwnProperty.call(config.nodeScopes, value)) globs.push(config.nodeScopes[value]);
  }
  const nodes = globs.length === 0 ? null : (parseNodeGlob(globs.join(','))?.text ?? null);
  return { name, displayName: usableName(claims.name) ?? name, role: rank < 0 ? null : ROLES[rank], nodes };
}
