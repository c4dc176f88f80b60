import { hashSecret, randomAlphanumeric, secretMatches } from './secret-hash';

export { hashSecret, secretMatches };

/** SPEC §4: `ximp_<id>_<secret>`, id 12 and secret 52 characters of [a-z0-9]. */
export const TOKEN_ID_LENGTH = 12;
export const TOKEN_SECRET_LENGTH = 52;

const TOKEN_PATTERN = /^ximp_([a-z0-9]{12})_([a-z0-9]{52})$/;
const TOKEN_ID_PATTERN = /^[a-z0-9]{12}$/;

export interface GeneratedAgentToken {
  id: string;
  secret: string;
  /** The full string handed to the operator once; never stored, never logged. */
  token: string;
}

/** A fresh token: a random public id plus a 52-character (~268-bit) random secret. */
export function generateAgentToken(): GeneratedAgentToken {
  const id = randomAlphanumeric(TOKEN_ID_LENGTH);
  const secret = randomAlphanumeric(TOKEN_SECRET_LENGTH);
  return { id, secret, token: `ximp_${id}_${secret}` };
}

/** Splits a token string into id and secret; null for anything not exactly in the format. */
export function parseAgentToken(text: string): { id: string; secret: string } | null {
  if (typeof text !== 'string') return null;
  const m = TOKEN_PATTERN.exec(text);
  if (!m) return null;
  return { id: m[1], secret: m[2] };
}

/** True when `text` has the shape of a token ID (used to validate IDs named in API calls). */
export function isAgentTokenId(text: string): boolean {
  return typeof text === 'string' && TOKEN_ID_PATTERN.test(text);
}
