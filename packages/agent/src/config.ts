import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AGENT_BATCH_BOUNDS,
  AGENT_TOKEN_FORM,
  isAgentToken,
  isNodeName,
  NODE_NAME_FORM,
  ConfigReader,
  deepFreeze,
  LABEL_NAME,
  LOG_LEVELS,
  MAX_LABEL_VALUE_LENGTH,
  parseConfigYaml,
  readConfigFile,
  unloadYamlLibrary,
  resolveRelativeTo,
  unsafeModeProblem,
  type LogLevel,
} from '@ximp/shared';

export const DEFAULT_AGENT_CONFIG_PATH = '/etc/ximp/agent.yaml';
export const DEFAULT_SPOOL_DIR = '/var/lib/ximp-agent/spool';
export const DEFAULT_INTERVAL_MS = 10_000;
export const MIN_INTERVAL_MS = 1_000;
export const DEFAULT_SPOOL_MAX_BYTES = 64 * 1024 * 1024;
export const MIN_SPOOL_MAX_BYTES = 1024 * 1024;
/** A source's own labels on one series, at most (filesystem has three: device, fstype, mountpoint). */
export const SOURCE_LABELS_RESERVED = 8;
/** Extra labels from agent.yaml: together with a source's own, a series stays within the protocol's bound. */
export const MAX_LABELS = AGENT_BATCH_BOUNDS.labelsPerSeries - SOURCE_LABELS_RESERVED;

/** The source names agent.yaml may list under `sources`. */
export const AGENT_SOURCE_NAMES = Object.freeze([
  'cpu',
  'memory',
  'load',
  'filesystem',
  'disk',
  'network',
  'uptime',
] as const);

/** The agent's configuration, deeply frozen. */
export interface AgentConfig {
  /** Absolute path it was read from. */
  file: string;
  /** `ca`: the PEM text of `caFile`, read at load (and again on SIGHUP). */
  server: { url: string; authToken: string; caFile: string | null; ca: string | null };
  /** Default: os.hostname() lowercased. */
  node: string;
  intervalMs: number;
  /** Null-prototype object. */
  labels: Record<string, string>;
  /** Null = every default-enabled source. */
  sources: string[] | null;
  spool: { dir: string; maxBytes: number };
  log: { level: LogLevel };
  /** Things the operator should fix that do not stop the agent (e.g. a world-readable token); logged at start and on SIGHUP. */
  warnings: string[];
}

/** The I/O the parser needs beyond the text, injectable so tests need no real files. */
export interface AgentConfigOptions {
  /** The machine's host name; default os.hostname(). */
  hostname?: string;
  /** Reads `server.auth_token_file`; default reads at most 4 KiB from disk. */
  readTokenFile?: (file: string) => string;
  /** Permission bits of a file, or null when unknown; default fs.statSync. */
  fileMode?: (file: string) => number | null;
  /** Reads `server.ca_file`; default reads it from disk (at most 1 MiB). */
  readCaFile?: (file: string) => string;
}

const RESERVED_LABELS = new Set(['instance', 'job']);
const MAX_TOKEN_FILE_BYTES = 4096;
const MAX_CA_FILE_BYTES = 1024 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;

/** Reads a config file and parses it; throws ConfigError (all issues) or XIMP_ERR_CONFIG_UNREADABLE. */
export function loadAgentConfig(file: string, opts: AgentConfigOptions = {}): AgentConfig {
  try {
    return parseAgentConfig(readConfigFile(file), file, opts);
  } finally {
    // Read at start-up and on reload only: between those the parser's code is not kept.
    unloadYamlLibrary();
  }
}

/**
 * Parses agent.yaml text. `fileName` is the path the text came from: its base name appears in
 * messages and relative paths resolve against its folder.
 */
export function parseAgentConfig(text: string, fileName: string, opts: AgentConfigOptions = {}): AgentConfig {
  const file = path.resolve(fileName);
  const root = ConfigReader.root(parseConfigYaml(text, fileName), ['server', 'node', 'interval', 'labels', 'sources', 'spool', 'log']);
  const fileMode = opts.fileMode ?? statMode;
  const warnings: string[] = [];

  const server = root.section('server', ['url', 'auth_token', 'auth_token_file', 'ca_file']);
  // A URL with an '@' may carry a password: such a value is never echoed.
  const url = server.string('url', { required: true, check: checkServerUrl, secret: (v) => v.includes('@') });
  const authToken = readToken(server, file, opts.readTokenFile ?? readTokenFile, fileMode, warnings);
  const caFileText = server.string('ca_file', { check: nonEmpty('a file path') });
  const caFile = caFileText === undefined ? null : resolveRelativeTo(file, caFileText);
  const ca = caFile === null ? null : readCa(server, caFile, opts.readCaFile ?? readCaFile, fileMode, warnings);

  const node = readNode(root, opts.hostname ?? os.hostname());
  const intervalMs = root.duration('interval', { min: MIN_INTERVAL_MS }) ?? DEFAULT_INTERVAL_MS;
  const labels =
    root.stringMap('labels', {
      what: 'label',
      maxEntries: MAX_LABELS,
      checkKey: checkLabelName,
      checkValue: (v) =>
        v.length === 0 || v.length > MAX_LABEL_VALUE_LENGTH ? `a label value of 1 to ${MAX_LABEL_VALUE_LENGTH} characters` : null,
    }) ?? (Object.create(null) as Record<string, string>);
  const sources =
    root.stringList('sources', {
      expected: `a source name (${AGENT_SOURCE_NAMES.join(', ')})`,
      parse: (v) => ((AGENT_SOURCE_NAMES as readonly string[]).includes(v) ? v : null),
      unique: true,
      nonEmpty: true,
    }) ?? null;

  const spool = root.section('spool', ['dir', 'max_bytes']);
  const spoolDir = spool.string('dir', { check: nonEmpty('a folder path') });
  const maxBytes = spool.size('max_bytes', { min: MIN_SPOOL_MAX_BYTES }) ?? DEFAULT_SPOOL_MAX_BYTES;

  const log = root.section('log', ['level']);
  const level = log.oneOf('level', LOG_LEVELS) ?? 'info';

  root.throwIfIssues();

  const configMode = fileMode(file);
  const configProblem = configMode === null ? null : unsafeModeProblem(configMode, { secret: true });
  if (configProblem !== null) {
    const holds = server.has('auth_token') ? 'holds the agent token' : 'names the agent token file';
    warnings.unshift(`${file} is ${configProblem} (mode ${octal(configMode!)}) and ${holds}; ${FIX_SECRET_MODE}`);
  }

  return deepFreeze({
    file,
    server: { url: url as string, authToken: authToken as string, caFile, ca },
    node: node as string,
    intervalMs,
    labels,
    sources,
    spool: { dir: spoolDir === undefined ? DEFAULT_SPOOL_DIR : resolveRelativeTo(file, spoolDir), maxBytes },
    log: { level },
    warnings,
  });
}

/** The token from `auth_token` or `auth_token_file` (exactly one of them), never echoed. */
function readToken(
  server: ConfigReader,
  configFile: string,
  read: (file: string) => string,
  fileMode: (file: string) => number | null,
  warnings: string[],
): string | undefined {
  const inline = server.has('auth_token');
  const fromFile = server.has('auth_token_file');
  if (inline && fromFile) {
    server.report('auth_token_file', 'set either auth_token or auth_token_file, not both');
    return undefined;
  }
  if (!inline && !fromFile) {
    server.reportMissing('auth_token', 'required key is missing (or set auth_token_file)');
    return undefined;
  }
  if (inline) {
    return server.string('auth_token', { secret: true, check: (v) => (isAgentToken(v) ? null : AGENT_TOKEN_FORM) });
  }
  const name = server.string('auth_token_file', { check: nonEmpty('a file path') });
  if (name === undefined) return undefined;
  const tokenFile = resolveRelativeTo(configFile, name);
  let content: string;
  try {
    content = read(tokenFile).trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'read failed';
    server.report('auth_token_file', `cannot read ${tokenFile} (${reason})`);
    return undefined;
  }
  if (!isAgentToken(content)) {
    server.report('auth_token_file', `${tokenFile} does not hold ${AGENT_TOKEN_FORM}`);
    return undefined;
  }
  const mode = fileMode(tokenFile);
  const problem = mode === null ? null : unsafeModeProblem(mode, { secret: true });
  if (problem !== null) warnings.push(`${tokenFile} (auth_token_file) is ${problem} (mode ${octal(mode!)}); ${FIX_SECRET_MODE}`);
  return content;
}

/** How to fix a file that holds or names the token: the layout systemd/README.md installs. */
const FIX_SECRET_MODE = 'make it owned by root, group the agent\'s, mode 0640 (chown root:ximp-agent; chmod 640)';

/**
 * The CA certificate from `ca_file`: a file the agent cannot read, or that holds no PEM
 * certificate, is a config error now rather than a failed connection later. It is public, so
 * only others' write access to it (they could swap the trusted CA) is warned about.
 */
function readCa(
  server: ConfigReader,
  caFile: string,
  read: (file: string) => string,
  fileMode: (file: string) => number | null,
  warnings: string[],
): string | null {
  let pem: string;
  try {
    pem = read(caFile);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'read failed';
    server.report('ca_file', `cannot read ${caFile} (${reason})`);
    return null;
  }
  if (!PEM_CERTIFICATE.test(pem)) {
    server.report('ca_file', `${caFile} does not hold a PEM certificate ("-----BEGIN CERTIFICATE-----")`);
    return null;
  }
  const mode = fileMode(caFile);
  const problem = mode === null ? null : unsafeModeProblem(mode, { secret: false });
  if (problem !== null) {
    warnings.push(`${caFile} (ca_file) is ${problem} (mode ${octal(mode!)}): whoever can write it decides which collector this agent trusts; chmod 644`);
  }
  return pem;
}

function checkServerUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'a URL like "wss://collector.example.net:4443/v1/agent"';
  }
  if (url.protocol === 'ws:') return 'a wss:// URL: ws:// would send the token unencrypted';
  if (url.protocol !== 'wss:') return 'a wss:// URL like "wss://collector.example.net:4443/v1/agent"';
  if (url.username !== '' || url.password !== '') return 'a wss:// URL without user or password';
  if (url.hostname === '') return 'a wss:// URL with a host';
  return null;
}

function readNode(root: ConfigReader, hostname: string): string | undefined {
  const check = (v: string): string | null =>
    isNodeName(v) ? null : `a node name of ${NODE_NAME_FORM}`;
  if (root.has('node')) return root.string('node', { check });
  const fallback = hostname.toLowerCase();
  if (check(fallback) !== null) {
    root.reportMissing(
      'node',
      `the host name ${JSON.stringify(fallback.slice(0, 80))} is not a valid node name; set node ([a-z0-9] then [a-z0-9.-])`,
    );
    return undefined;
  }
  root.string('node'); // reports a present-but-wrong value such as `node: []`
  return fallback;
}

function checkLabelName(name: string): string | null {
  if (!LABEL_NAME.test(name)) return 'invalid label name: expected [a-zA-Z_][a-zA-Z0-9_]*';
  if (name.startsWith('__')) return 'invalid label name: names starting with "__" are reserved';
  if (RESERVED_LABELS.has(name)) return `reserved label name: the agent sets ${name} itself`;
  return null;
}

function nonEmpty(what: string): (v: string) => string | null {
  return (v) => (v.trim() === '' ? `${what}` : null);
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function statMode(file: string): number | null {
  try {
    return fs.statSync(file).mode & 0o777;
  } catch {
    return null;
  }
}

/** Reads a token file, refusing anything larger than a token file could be (e.g. /dev/zero). */
function readTokenFile(file: string): string {
  return readBounded(file, MAX_TOKEN_FILE_BYTES);
}

function readCaFile(file: string): string {
  return readBounded(file, MAX_CA_FILE_BYTES);
}

/** Reads at most `max` bytes of a file; a larger one fails with EFBIG instead of filling memory. */
function readBounded(file: string, max: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let length = 0;
    while (length < buf.length) {
      const n = fs.readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > max) {
      throw Object.assign(new Error('file too large'), { code: 'EFBIG' });
    }
    return buf.subarray(0, length).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
