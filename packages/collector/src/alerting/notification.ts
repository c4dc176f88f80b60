import type { StoredAlert } from './alert-instances';
import type { AlertRule } from './alert-rule';

/** Alertmanager's "no end yet" time for a firing alert. */
const NO_END = '0001-01-01T00:00:00Z';

/** One alert in a notification, in Alertmanager's shape. */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  /** The node it concerns (null: the collector's own certificates); for the history, not sent. */
  node: string | null;
  instance: string;
}

/** What one channel is asked to deliver: one rule's alerts (Alertmanager groups by alertname). */
export interface Notification {
  rule: string;
  channel: string;
  status: 'firing' | 'resolved';
  alerts: NotifiedAlert[];
  /** A `ximp alert channel test`: says so in its text and labels. */
  test: boolean;
}

/** A firing or just-resolved alert as a channel shows it. */
export function notifiedAlert(rule: AlertRule, alert: StoredAlert, status: 'firing' | 'resolved', now: number): NotifiedAlert {
  return {
    status,
    labels: { ...alert.labels, alertname: rule.name },
    annotations: { summary: summaryOf(rule, alert) },
    startsAt: new Date(alert.firedAt ?? alert.activeSince ?? now).toISOString(),
    endsAt: status === 'resolved' ? new Date(now).toISOString() : NO_END,
    node: alert.node,
    instance: alert.instance,
  };
}

/** The notification a `channel test` sends: one firing alert that names itself a test. */
export function testNotification(channel: string, now: number): Notification {
  const at = new Date(now).toISOString();
  return {
    rule: 'ximp-channel-test',
    channel,
    status: 'firing',
    test: true,
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'ximp-channel-test', instance: 'ximp-collector', job: 'ximp', severity: 'none' },
        annotations: { summary: `test notification from XIMP to channel ${channel}; no action needed` },
        startsAt: at,
        endsAt: NO_END,
        node: null,
        instance: 'ximp-collector',
      },
    ],
  };
}

function summaryOf(rule: AlertRule, alert: StoredAlert): string {
  switch (rule.kind) {
    case 'agent_down':
      return `agent ${alert.instance} has not been ACTIVE for ${formatMinutes(rule.forMs)}`;
    case 'threshold': {
      const what = rule.rateMs === null ? rule.metric : `rate(${rule.metric})`;
      return `${rule.aggregate} of ${what} on ${alert.instance} is ${alert.value ?? '?'} (${rule.op} ${rule.value})`;
    }
    case 'token_expiry':
      return `the agent token of ${alert.instance} expires in ${alert.value ?? '?'} days: rotate it`;
    case 'certificate_expiry':
      return `the ${alert.instance} certificate expires in ${alert.value ?? '?'} days`;
  }
}

function formatMinutes(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

/** Alertmanager's webhook payload, version 4 (SPEC §14), for the webhook channel. */
export function webhookPayload(n: Notification, externalUrl: string): Record<string, unknown> {
  const common = commonOf(n.alerts.map((a) => a.labels));
  const commonAnnotations = commonOf(n.alerts.map((a) => a.annotations));
  return {
    version: '4',
    groupKey: `{}:{alertname="${n.rule}"}`,
    truncatedAlerts: 0,
    status: n.status,
    receiver: n.channel,
    groupLabels: { alertname: n.rule },
    commonLabels: common,
    commonAnnotations,
    externalURL: externalUrl,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: externalUrl,
      fingerprint: fingerprint(a.labels),
    })),
  };
}

function commonOf(maps: readonly Record<string, string>[]): Record<string, string> {
  if (maps.length === 0) return {};
  const out = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** A stable id of a label set (FNV-1a over the sorted pairs), as Alertmanager gives one. */
export function fingerprint(labels: Record<string, string>): string {
  let h = 0xcbf29ce484222325n;
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}\u0000`)
    .join('');
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}
