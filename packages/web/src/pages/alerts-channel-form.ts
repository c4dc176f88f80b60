import { splitList, type BodyResult } from './alerts-rule-form';

/**
 * The alert channel editor's values and the JSON body it sends (SPEC §14). Secrets are write-only:
 * the form never holds a stored one (the collector answers only `"set"`), and a secret field left
 * empty is left out of the body, which keeps the stored value.
 */

export const CHANNEL_TYPES = ['webhook', 'email', 'alertmanager'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export const SMTP_TLS_MODES = ['starttls', 'implicit'] as const;

export type ChannelSetting = 'url' | 'ca_file' | 'smtp_host' | 'smtp_port' | 'tls' | 'from' | 'to' | 'username';
export type ChannelSecret = 'secret' | 'bearer_token' | 'password';

/** Each type's settings and write-only secrets, as the collector reads them. */
export const CHANNEL_SETTINGS: Readonly<Record<ChannelType, readonly ChannelSetting[]>> = {
  webhook: ['url', 'ca_file'],
  email: ['smtp_host', 'smtp_port', 'tls', 'from', 'to', 'username', 'ca_file'],
  alertmanager: ['url', 'ca_file'],
};
export const CHANNEL_SECRETS: Readonly<Record<ChannelType, readonly ChannelSecret[]>> = {
  webhook: ['secret', 'bearer_token'],
  email: ['password'],
  alertmanager: ['bearer_token'],
};

/** A channel as listed: viewers get name and type only, editors the settings with secrets as "set" or null. */
export type AlertChannelJson = { name: string; type: ChannelType; repeat_interval?: string } & Partial<Record<ChannelSetting | ChannelSecret, unknown>>;

export type ChannelFormValues = { name: string; type: ChannelType; repeat_interval: string } & Record<ChannelSetting | ChannelSecret, string>;

export function isChannelType(x: string): x is ChannelType {
  return (CHANNEL_TYPES as readonly string[]).includes(x);
}

function text(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(', ');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** The form for a new channel (empty) or an existing one: its settings, and every secret empty. */
export function channelFormValues(channel: AlertChannelJson | null): ChannelFormValues {
  const c: Partial<AlertChannelJson> = channel ?? {};
  return {
    name: c.name ?? '',
    type: c.type ?? 'webhook',
    repeat_interval: c.repeat_interval ?? '',
    url: text(c.url),
    ca_file: text(c.ca_file),
    smtp_host: text(c.smtp_host),
    smtp_port: text(c.smtp_port),
    tls: text(c.tls) || 'starttls',
    from: text(c.from),
    to: text(c.to),
    username: text(c.username),
    secret: '',
    bearer_token: '',
    password: '',
  };
}

/** Which secrets the collector holds for a channel (`"set"`), so the form can say so. */
export function storedSecrets(channel: AlertChannelJson): ChannelSecret[] {
  return CHANNEL_SECRETS[channel.type].filter((f) => channel[f] === 'set');
}

/** The JSON body for POST or PUT: the type's settings given, and only the secrets typed in. */
export function channelBody(v: ChannelFormValues): BodyResult {
  const body: Record<string, unknown> = { name: v.name.trim(), type: v.type };
  if (v.repeat_interval.trim() !== '') body.repeat_interval = v.repeat_interval.trim();
  for (const field of CHANNEL_SETTINGS[v.type]) {
    const value = v[field].trim();
    if (value === '') continue;
    if (field === 'smtp_port') {
      if (!/^\d{1,5}$/.test(value)) return { field, message: 'expected a port number' };
      body.smtp_port = Number(value);
    } else if (field === 'to') {
      body.to = splitList(value);
    } else {
      body[field] = value;
    }
  }
  // Not trimmed: a secret is sent exactly as typed.
  for (const field of CHANNEL_SECRETS[v.type]) if (v[field] !== '') body[field] = v[field];
  return { body };
}

/** Why a test notification failed, from the 502 answer `{name, delivered, detail}`. */
export function testDetail(body: unknown): string {
  const detail = typeof body === 'object' && body !== null ? (body as { detail?: unknown }).detail : undefined;
  return typeof detail === 'string' && detail !== '' ? detail : 'the receiver refused it or could not be reached.';
}
