/**
 * Null for an https:// URL a request can go to, else what was expected. `why.http` says why plain
 * http is refused (e.g. `remote write goes over TLS 1.3 only`), `why.userinfo` why user:password is.
 */
export function httpsUrlProblem(value: string, why: { http: string; userinfo: string }): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'an https:// URL';
  }
  if (url.protocol !== 'https:') return `an https:// URL (${why.http})`;
  if (url.username !== '' || url.password !== '') return `an https:// URL without user:password (${why.userinfo})`;
  if (url.hash !== '') return 'an https:// URL without a #fragment';
  return null;
}

/** A URL may carry a password: never echo one that has userinfo. */
export function urlMayHoldSecret(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value);
}
