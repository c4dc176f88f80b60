/**
 * The shape of every secret XIMP hands out (SPEC §4, §10). The collector checks these before it
 * looks anything up, the agent before it sends a token, and logs redact anything that looks like one.
 */

/** SPEC §4: `ximp_<id>_<secret>`, id 12 and secret 52 characters of [a-z0-9]. */
export const TOKEN_ID_LENGTH = 12;
export const TOKEN_SECRET_LENGTH = 52;

const AGENT_TOKEN = /^ximp_([a-z0-9]{12})_([a-z0-9]{52})$/;
const AGENT_TOKEN_ID = /^[a-z0-9]{12}$/;
const API_CLIENT_ID = /^xc_[a-z0-9]{12}$/;
const API_CLIENT_SECRET = /^xcs_[a-z0-9]{52}$/;
const ACCESS_TOKEN = /^xat_[a-z0-9]{52}$/;

/** The agent token rule in words, for config messages (never with the value itself). */
export const AGENT_TOKEN_FORM = 'a token like "ximp_<id>_<secret>" (12 and 52 characters of [a-z0-9])';

/** Splits an agent token into id and secret; null for anything not exactly in the format. */
export function parseAgentToken(text: unknown): { id: string; secret: string } | null {
  if (typeof text !== 'string') return null;
  const m = AGENT_TOKEN.exec(text);
  if (!m) return null;
  return { id: m[1], secret: m[2] };
}

/** True when `text` is an agent token in the exact format. */
export function isAgentToken(text: unknown): text is string {
  return typeof text === 'string' && AGENT_TOKEN.test(text);
}

/** True when `text` has the shape of an agent token ID (the public part after `ximp_`). */
export function isAgentTokenId(text: unknown): text is string {
  return typeof text === 'string' && AGENT_TOKEN_ID.test(text);
}

/** True when `text` has the shape of an API client ID (`xc_` and 12 characters of [a-z0-9]). */
export function isApiClientId(text: unknown): text is string {
  return typeof text === 'string' && API_CLIENT_ID.test(text);
}

/** True when `text` has the shape of an API client secret (`xcs_` and 52 characters of [a-z0-9]). */
export function isApiClientSecret(text: unknown): text is string {
  return typeof text === 'string' && API_CLIENT_SECRET.test(text);
}

/** True when `text` has the shape of an API access token (`xat_` and 52 characters of [a-z0-9]). */
export function isAccessToken(text: unknown): text is string {
  return typeof text === 'string' && ACCESS_TOKEN.test(text);
}

/**
 * Anything that looks like one of the secrets above, also cut short or of the wrong case: a log
 * line or message hides a mistyped secret as well as a valid one.
 */
const SECRET_LIKE = /ximp_[A-Za-z0-9]+_[A-Za-z0-9]+|xcs_[A-Za-z0-9]+|xat_[A-Za-z0-9]+/g;

/** `text` with every secret-shaped part replaced by `replacement` (or what it returns for the part). */
export function redactSecrets(text: string, replacement: string | ((secret: string) => string) = '[redacted]'): string {
  return typeof replacement === 'string'
    ? text.replace(SECRET_LIKE, () => replacement)
    : text.replace(SECRET_LIKE, replacement);
}
