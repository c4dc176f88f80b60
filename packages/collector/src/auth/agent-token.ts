import { TOKEN_ID_LENGTH, TOKEN_SECRET_LENGTH, isAgentTokenId, parseAgentToken } from '@ximp/shared';
import { hashSecret, randomAlphanumeric, secretMatches } from './secret-hash';

export { hashSecret, secretMatches };
// The token format (SPEC §4) is defined once in @ximp/shared; the collector's auth code uses it from here.
export { TOKEN_ID_LENGTH, TOKEN_SECRET_LENGTH, isAgentTokenId, parseAgentToken };

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
