import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { unsafeModeProblem } from '@ximp/shared';
import { CliError } from './cli-error';
import { ExitCodes } from './exit-codes';

/** What the CLI needs to reach the API. */
export interface CliConfig {
  /** Base URL, e.g. "https://collector.example.net:4494" (no trailing slash). */
  server: string;
  /** CA bundle that signed the API certificate; null = the system's CAs. */
  caFile: string | null;
  clientId: string;
  clientSecret: string;
  /** The file the config came from; null when only the environment and flags gave it. */
  file: string | null;
  /** Advice that does not stop the command (e.g. the file is readable by other users). */
  warnings: string[];
}

export interface CliConfigSources {
  /** `--config FILE`. */
  configFlag?: string;
  /** `--server URL`. */
  serverFlag?: string;
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
}

type FileKeys = { server?: string; ca_file?: string; client_id?: string; client_secret?: string };

const KEYS = ['server', 'ca_file', 'client_id', 'client_secret'] as const;
/** Bounds a config file that is clearly not a CLI config (e.g. a pointed-at log file). */
const MAX_FILE_BYTES = 64 * 1024;

export const DEFAULT_CLI_CONFIG = '~/.config/ximp/cli.yaml';

function configError(lines: string[]): CliError {
  return new CliError(ExitCodes.CONFIG, lines.join('\n'));
}

/**
 * Parses the text of a CLI config file strictly: a YAML map of string values with the keys
 * `server`, `ca_file`, `client_id` and `client_secret`. Every problem is one line
 * `FILE:LINE:COL: KEY: message`, all reported at once (exit 78). Pure; `dir` resolves a
 * relative `ca_file`. No message repeats a value except the (non-secret) server URL.
 */
export function parseCliConfigText(text: string, fileLabel: string, dir: string): FileKeys {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: string[] = [];
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return `${fileLabel}:1:1`;
    const { line, col } = lineCounter.linePos(offset);
    return `${fileLabel}:${line}:${col}`;
  };
  // The parser's own text can quote the offending line (a secret, perhaps): report the code only.
  for (const err of doc.errors) issues.push(`${at(err.pos[0])}: invalid YAML (${err.code})`);
  if (issues.length > 0) throw configError(issues);

  const result: FileKeys = {};
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && (contents.value === null || contents.value === ''))) return result;
  if (!isMap(contents)) throw configError([`${at(contents.range?.[0])}: expected a map of keys`]);
  for (const pair of contents.items) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? String(keyNode.value) : null;
    const keyAt = at(isScalar(keyNode) ? keyNode.range?.[0] : undefined);
    if (key === null || !(KEYS as readonly string[]).includes(key)) {
      issues.push(`${keyAt}: ${key ?? '?'}: unknown key (expected one of ${KEYS.join(', ')})`);
      continue;
    }
    const valueNode = pair.value;
    const rangeStart = (node: unknown): number | undefined => (node as { range?: readonly number[] } | null)?.range?.[0];
    const valueAt = at(rangeStart(valueNode) ?? rangeStart(keyNode));
    if (!isScalar(valueNode) || typeof valueNode.value !== 'string') {
      const actual = isScalar(valueNode) ? (valueNode.value === null ? 'null' : typeof valueNode.value) : valueNode ? 'a collection' : 'nothing';
      issues.push(`${valueAt}: ${key}: expected a string (actual: ${actual})`);
      continue;
    }
    const value = valueNode.value.trim();
    if (value === '') {
      issues.push(`${valueAt}: ${key}: must not be empty`);
      continue;
    }
    if (key === 'server') {
      const problem = checkServerUrl(value);
      if (problem !== null) {
        issues.push(`${valueAt}: server: ${problem}`);
        continue;
      }
    }
    result[key as (typeof KEYS)[number]] = key === 'ca_file' ? path.resolve(dir, value) : value;
  }
  if (issues.length > 0) throw configError(issues);
  return result;
}

/** Null when `text` is a usable API base URL, else what is wrong (without repeating credentials). */
export function checkServerUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected an https:// URL like "https://collector:4494"';
  }
  if (url.username !== '' || url.password !== '') return 'must not hold credentials (use client_id and client_secret)';
  if (url.protocol !== 'https:') return `expected an https:// URL (actual scheme: "${url.protocol.replace(/:$/, '')}")`;
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  return null;
}

function expandHome(file: string, homeDir: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(homeDir, file.slice(1)) : file;
}

/**
 * Loads the CLI config: the file from `--config`, else `$XIMP_CLI_CONFIG`, else
 * ~/.config/ximp/cli.yaml; then XIMP_SERVER, XIMP_CLIENT_ID, XIMP_CLIENT_SECRET and XIMP_CA_FILE
 * override single keys, and `--server` overrides the server. A file named explicitly must exist;
 * the default file may be absent when the environment gives every key. Throws CliError (78).
 */
export function loadCliConfig(sources: CliConfigSources): CliConfig {
  const { env, homeDir } = sources;
  const named = sources.configFlag ?? (env.XIMP_CLI_CONFIG !== undefined && env.XIMP_CLI_CONFIG !== '' ? env.XIMP_CLI_CONFIG : undefined);
  const file = path.resolve(expandHome(named ?? DEFAULT_CLI_CONFIG, homeDir));
  const label = file;
  const warnings: string[] = [];
  let keys: FileKeys = {};
  let usedFile: string | null = null;

  let text: string | null = null;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw configError([`${label}: not a regular file`]);
    if (stat.size > MAX_FILE_BYTES) throw configError([`${label}: too large for a CLI config (${stat.size} bytes)`]);
    text = fs.readFileSync(file, 'utf8');
    const problem = unsafeModeProblem(stat.mode, { secret: true });
    if (problem !== null) warnings.push(`${label} is ${problem}; it holds a client secret (chmod 600 it)`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (named !== undefined || code !== 'ENOENT') throw configError([`${label}: cannot read the CLI config (${code})`]);
  }
  if (text !== null) {
    keys = parseCliConfigText(text, label, path.dirname(file));
    usedFile = file;
  }

  const issues: string[] = [];
  const fromEnv = (name: string, key: (typeof KEYS)[number]): void => {
    const value = env[name];
    if (value === undefined || value === '') return;
    if (key === 'server') {
      const problem = checkServerUrl(value);
      if (problem !== null) {
        issues.push(`${name}: ${problem}`);
        return;
      }
    }
    keys[key] = key === 'ca_file' ? path.resolve(value) : value;
  };
  fromEnv('XIMP_SERVER', 'server');
  fromEnv('XIMP_CLIENT_ID', 'client_id');
  fromEnv('XIMP_CLIENT_SECRET', 'client_secret');
  fromEnv('XIMP_CA_FILE', 'ca_file');
  if (sources.serverFlag !== undefined) {
    const problem = checkServerUrl(sources.serverFlag);
    if (problem !== null) issues.push(`--server: ${problem}`);
    else keys.server = sources.serverFlag;
  }
  const where = usedFile ?? `${label} (not found)`;
  const hints: Record<string, string> = {
    server: 'XIMP_SERVER or --server',
    client_id: 'XIMP_CLIENT_ID',
    client_secret: 'XIMP_CLIENT_SECRET',
  };
  for (const key of ['server', 'client_id', 'client_secret'] as const) {
    if (keys[key] === undefined) issues.push(`${where}: ${key}: missing (set it in the file or with ${hints[key]})`);
  }
  if (issues.length > 0) throw configError(issues);

  return {
    server: keys.server!.replace(/\/+$/, ''),
    caFile: keys.ca_file ?? null,
    clientId: keys.client_id!,
    clientSecret: keys.client_secret!,
    file: usedFile,
    warnings,
  };
}
