/**
 * An error answered to the caller as `{error, message?}` with an HTTP status. `error` is a stable
 * code (RFC 6749 §5.2 / RFC 6750 §3.1 names where they apply); `message` is for people and never
 * holds a secret.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly error: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, error: string, message?: string, headers: Record<string, string> = {}) {
    super(message ?? error);
    this.name = 'HttpError';
    this.status = status;
    this.error = error;
    this.headers = headers;
  }

  /** The JSON body; the message is left out when it adds nothing to the code. */
  body(): Record<string, unknown> {
    return this.message === this.error ? { error: this.error } : { error: this.error, message: this.message };
  }
}

/** 400 naming what is wrong with the request (a field, the JSON, the form). */
export function invalidRequest(message: string): HttpError {
  return new HttpError(400, 'invalid_request', message);
}

/** 400 for an object (rule, channel) with problems: each with its field path, all at once. */
export class InvalidObjectError extends HttpError {
  constructor(readonly issues: readonly { path: string; message: string }[]) {
    super(400, 'invalid_request', issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; '));
  }

  override body(): Record<string, unknown> {
    return { ...super.body(), issues: this.issues.map((i) => ({ path: i.path, message: i.message })) };
  }
}
