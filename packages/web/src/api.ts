/**
 * Same-origin JSON calls to the collector with the session cookie. Every request other than GET
 * carries the session's CSRF token; a 401 means the session is gone, so the user goes to sign in.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    /** The answer's JSON body, for a page that reads more than the message (e.g. a channel test's detail). */
    readonly body: unknown = undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;

/** Set by the session module whenever the server hands out a session body. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Where a 401 sends the user; replaced in tests. */
let onUnauthorized = (): void => {
  if (location.pathname !== '/signin') location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  /** Do not redirect on 401 (the sign-in pages probe the session themselves). */
  allow401?: boolean;
}

async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken !== null) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The collector could not be reached.');
  }
  if (res.status === 401 && !options.allow401) onUnauthorized();
  if (res.status === 403 && location.pathname !== '/password' && (await res.clone().text()).includes('"password_change_required"')) {
    location.assign('/password');
  }
  if (res.status === 204) return undefined as T;
  const textBody = await res.text();
  let parsed: unknown = undefined;
  if (textBody !== '') {
    try {
      parsed = JSON.parse(textBody);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const obj = (parsed ?? {}) as { error?: unknown; message?: unknown };
    const error = typeof obj.error === 'string' ? obj.error : `http_${res.status}`;
    const message = typeof obj.message === 'string' ? obj.message : `${res.status} ${res.statusText || error}`;
    throw new ApiError(res.status, error, message, parsed);
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions): Promise<T> => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> => request<T>('POST', path, body ?? {}, options),
  put: <T>(path: string, body: unknown, options?: RequestOptions): Promise<T> => request<T>('PUT', path, body, options),
  del: <T>(path: string, options?: RequestOptions): Promise<T> => request<T>('DELETE', path, undefined, options),
};

/** A message fit to show for any failure thrown by the calls above. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
