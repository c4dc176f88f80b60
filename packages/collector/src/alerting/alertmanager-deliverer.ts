import type { AlertmanagerSettings } from './channel-definition';
import { httpsPost } from './https-post';
import type { Deliverer } from './notifier';

/**
 * Posts alerts to Prometheus Alertmanager's v2 API (`POST /api/v2/alerts`), so operators keep
 * their routing, silences and inhibitions. A resolved alert is posted with its end time.
 */
export function alertmanagerDeliverer(
  settings: AlertmanagerSettings,
  secrets: Readonly<Record<string, string>>,
  o: { ca: Buffer | null; timeoutMs: number; externalUrl: string },
): Deliverer {
  const url = new URL('api/v2/alerts', settings.url.endsWith('/') ? settings.url : `${settings.url}/`).toString();
  return {
    deliver: (n) => {
      const alerts = n.alerts.map((a) => {
        const alert: Record<string, unknown> = { labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, generatorURL: o.externalUrl };
        // Alertmanager reads a missing endsAt as "firing until told otherwise or timed out".
        if (a.status === 'resolved') alert.endsAt = a.endsAt;
        return alert;
      });
      const headers: Record<string, string> = {};
      if (secrets.bearer_token) headers.Authorization = `Bearer ${secrets.bearer_token}`;
      return httpsPost(url, Buffer.from(JSON.stringify(alerts)), { ca: o.ca, headers, timeoutMs: o.timeoutMs });
    },
  };
}
