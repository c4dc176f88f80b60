import {
  ConfigError,
  ConfigReader,
  formatDuration,
  httpsUrlProblem,
  parseConfigYaml,
  urlMayHoldSecret,
} from '@ximp/shared';
import { OBJECT_NAME, OBJECT_NAME_FORM } from './alert-rule';

export const CHANNEL_TYPES = ['webhook', 'email', 'alertmanager'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export const SMTP_TLS_MODES = ['starttls', 'implicit'] as const;
export type SmtpTlsMode = (typeof SMTP_TLS_MODES)[number];

/** The write-only settings of each channel type: sealed at rest, answered as `"set"`. */
export const SECRET_FIELDS: Readonly<Record<ChannelType, readonly string[]>> = {
  webhook: ['secret', 'bearer_token'],
  email: ['password'],
  alertmanager: ['bearer_token'],
};

/** What an update writes in a secret field to keep the stored value (what a read answers). */
export const KEEP_SECRET = 'set';

const SETTING_KEYS: Readonly<Record<ChannelType, readonly string[]>> = {
  webhook: ['url', 'ca_file'],
  email: ['smtp_host', 'smtp_port', 'tls', 'from', 'to', 'username', 'ca_file'],
  alertmanager: ['url', 'ca_file'],
};
const COMMON_KEYS = ['name', 'type', 'repeat_interval'] as const;
const ALL_KEYS = [...new Set([...COMMON_KEYS, ...CHANNEL_TYPES.flatMap((t) => [...SETTING_KEYS[t], ...SECRET_FIELDS[t]])])];

const MINUTE = 60_000;
const MAX_RECIPIENTS = 32;
const MAX_SECRET_LENGTH = 4096;
const EMAIL = /^[^\s@<>(),;:"]+@[a-zA-Z0-9.-]+$/;

/** Settings shown to readers (never a secret), by type. */
export interface WebhookSettings {
  url: string;
  ca_file: string | null;
}
export interface EmailSettings {
  smtp_host: string;
  smtp_port: number;
  tls: SmtpTlsMode;
  from: string;
  to: string[];
  username: string | null;
  ca_file: string | null;
}
export interface AlertmanagerSettings {
  url: string;
  ca_file: string | null;
}

export type ChannelSettings = WebhookSettings | EmailSettings | AlertmanagerSettings;

/**
 * A channel as written by an editor; secrets in clear, or KEEP_SECRET, or absent (an update keeps
 * the stored one; the store refuses a channel left without a secret its type requires).
 */
export interface ChannelDefinition {
  name: string;
  type: ChannelType;
  /** Null = alerting.repeat_interval. */
  repeatIntervalMs: number | null;
  settings: ChannelSettings;
  /** Only the secret fields given; a value of KEEP_SECRET keeps the stored one. */
  secrets: Readonly<Record<string, string>>;
}

/** Reads one channel (a YAML file, or an API body: JSON is YAML), every problem with its key path. */
export function readChannelDefinition(r: ConfigReader): ChannelDefinition | undefined {
  const before = r.issues.length;
  const name = r.string('name', { required: true, check: (v) => (OBJECT_NAME.test(v) ? null : `a channel name (${OBJECT_NAME_FORM})`) });
  const type = r.oneOf('type', CHANNEL_TYPES, { required: true });
  const repeatIntervalMs = r.duration('repeat_interval', { min: MINUTE, max: 30 * 24 * 60 * MINUTE });
  if (type === undefined) return undefined;
  const allowed = new Set<string>([...COMMON_KEYS, ...SETTING_KEYS[type], ...SECRET_FIELDS[type]]);
  for (const key of ALL_KEYS) {
    if (r.has(key) && !allowed.has(key)) r.report(key, `not a setting of ${type} channels (its settings: ${[...allowed].join(', ')})`);
  }
  const secrets: Record<string, string> = {};
  for (const field of SECRET_FIELDS[type]) {
    const value = r.string(field, {
      secret: true,
      check: (v) => (v.length === 0 || v.length > MAX_SECRET_LENGTH ? `a non-empty value of at most ${MAX_SECRET_LENGTH} characters` : null),
    });
    if (value !== undefined) secrets[field] = value;
  }
  const caFile = r.string('ca_file', { check: (v) => (v.startsWith('/') ? null : 'an absolute file path') }) ?? null;
  let settings: ChannelSettings | undefined;
  if (type === 'webhook' || type === 'alertmanager') {
    const url = r.string('url', { required: true, check: (v) => httpsUrlProblem(v, { http: 'notifications go over TLS 1.3 only', userinfo: 'credentials go in their own write-only settings' }), secret: urlMayHoldSecret });
    if (url !== undefined) settings = { url, ca_file: caFile };
  } else {
    const host = r.string('smtp_host', { required: true, check: (v) => (/^[a-zA-Z0-9.:[\]-]{1,253}$/.test(v) ? null : 'a host name or address') });
    const tls = r.oneOf('tls', SMTP_TLS_MODES) ?? 'starttls';
    const port = r.integer('smtp_port', { min: 1, max: 65535 }) ?? (tls === 'implicit' ? 465 : 587);
    const from = r.string('from', { required: true, check: (v) => (EMAIL.test(v) ? null : 'an email address') });
    const to = r.stringList('to', { expected: 'an email address', parse: (v) => (EMAIL.test(v) ? v : null), unique: true, nonEmpty: true });
    if (to === undefined && !r.has('to')) r.reportMissing('to');
    if (to !== undefined && to.length > MAX_RECIPIENTS) r.report('to', `expected at most ${MAX_RECIPIENTS} addresses (actual: ${to.length})`);
    const username = r.string('username', { check: (v) => (v.length > 0 && v.length <= 256 ? null : 'a user name of 1 to 256 characters') }) ?? null;
    if (username === null && 'password' in secrets) r.report('password', 'given without username');
    if (host !== undefined && from !== undefined && to !== undefined) {
      settings = { smtp_host: host, smtp_port: port, tls, from, to, username, ca_file: caFile };
    }
  }
  if (r.issues.length > before || name === undefined || settings === undefined) return undefined;
  return { name, type, repeatIntervalMs: repeatIntervalMs ?? null, settings, secrets };
}

/** A channel from YAML or JSON text. Throws ConfigError listing every problem (never a secret). */
export function parseChannelDefinition(text: string, fileName: string): ChannelDefinition {
  const reader = ConfigReader.root(parseConfigYaml(text, fileName), ALL_KEYS);
  const channel = readChannelDefinition(reader);
  reader.throwIfIssues();
  if (channel === undefined) throw new ConfigError(reader.issues);
  return channel;
}

/** The channel as readers see it: settings, and `"set"` for each secret that is stored. */
export function channelJson(
  channel: { name: string; type: ChannelType; repeatIntervalMs: number | null; settings: ChannelSettings },
  storedSecrets: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = { name: channel.name, type: channel.type, ...channel.settings };
  if (channel.repeatIntervalMs !== null) out.repeat_interval = formatDuration(channel.repeatIntervalMs);
  for (const field of SECRET_FIELDS[channel.type]) out[field] = storedSecrets.includes(field) ? KEEP_SECRET : null;
  return out;
}
