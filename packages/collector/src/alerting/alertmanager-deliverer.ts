import type { AlertmanagerSettings } from './channel-definition';
import { httpsPost } from './https-post';
import type { Deliverer } from './notifier';

/**
 * How often firing alerts are posted to Alertmanager again, whatever the channel's repeat
 * interval: Alertmanager ends an alert it has not heard of for its `resolve_timeout` (5m), and it
 * deduplicates the repeats itself, so people are not notified more often (Prometheus resends
 * every minute for the same reason).
 */
export const ALERTMANAGER_RESEND_MS = 60_000;

/** The end a firing alert is posted with: it lasts four resends, as Prometheus does. */
const FIRING_HOLD_MS = 4 * ALERTMANAGER_RESEND_MS;

/**
 * Posts alerts to Prometheus Alertmanager's v2 API (`POST /api/v2/alerts`), so operators keep
 * their routing, silences and inhibitions. A resolved alert is posted with its end time.
 */
export function alertmanagerDeliverer(
  settings: AlertmanagerSettings,
  secrets: Readonly<Record<string, string>>,
  o: { ca: Buffer | null; timeoutMs: number; externalUrl: string; now?: () => number },
): Deliverer {
  const now = o.now ?? Date.now;
  const url = new URL('api/v2/alerts', settings.url.endsWith('/') ? settings.url : `${settings.url}/`).toString();
  return {
    deliver: (n) => {
      const alerts = n.alerts.map((a) => {
        const alert: Record<string, unknown> = { labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, generatorURL: o.externalUrl };
        // A firing alert ends a few resends ahead unless posted again, so one lost collector does
        // not leave it firing in Alertmanager for ever.
        alert.endsAt = a.status === 'resolved' ? a.endsAt : new Date(now() + FIRING_HOLD_MS).toISOString();
        return alert;
      });
      const headers: Record<string, string> = {};
      if (secrets.bearer_token) headers.Authorization = `Bearer ${secrets.bearer_token}`;
      return httpsPost(url, Buffer.from(JSON.stringify(alerts)), { ca: o.ca, headers, timeoutMs: o.timeoutMs });
    },
  };
}
