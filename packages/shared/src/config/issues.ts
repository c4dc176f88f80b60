import { ErrorCodes, XimpError } from '../errors';
import { redactSecrets } from '../token-format';

/** One problem in a config file, at the line:col (1-based) of the node that causes it. */
export interface ConfigIssue {
  /** The file's base name, as shown to the operator. */
  file: string;
  line: number;
  col: number;
  /** Dotted key path such as `server.auth_token` or `sources[2]`; empty for the document itself. */
  path: string;
  /** What was expected, and the actual value unless it is a secret. */
  message: string;
}

/** `FILE:LINE:COL: KEY.PATH: message` (the path part is left out for document-level problems). */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}:`;
  const line = issue.path === '' ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
  // Belt and braces: even if a token ends up where a plain value was expected, it is not echoed.
  return redactSecrets(line, (secret) => `${secret.slice(0, secret.indexOf('_'))}_<hidden>`);
}

/** Orders issues as they appear in the file, so the report reads top to bottom. */
export function sortConfigIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => a.issue.line - b.issue.line || a.issue.col - b.issue.col || a.index - b.index)
    .map(({ issue }) => issue);
}

/** Every problem of one config file, reported together: one line per issue. */
export class ConfigError extends XimpError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const sorted = Object.freeze(sortConfigIssues(issues).map((i) => Object.freeze({ ...i })));
    super(ErrorCodes.CONFIG_INVALID, sorted.map(formatConfigIssue).join('\n'));
    // Keeps `instanceof` true when this file is compiled for an ES5 target (some test loaders do).
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'ConfigError';
    this.issues = sorted;
  }
}
