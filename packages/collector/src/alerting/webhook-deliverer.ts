import * as crypto from 'node:crypto';
import type { WebhookSettings } from './channel-definition';
import { httpsPost } from './https-post';
import { webhookPayload } from './notification';
import type { Deliverer } from './notifier';

/** The header that carries the body's signature: `sha256=<hex HMAC-SHA256 of the body>` (SPEC §14). */
export const SIGNATURE_HEADER = 'X-Ximp-Signature';

/** The signature a receiver recomputes from the raw body and the shared secret. */
export function signBody(body: Buffer, secret: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs Alertmanager's webhook payload, signed, optionally with a bearer token. */
export function webhookDeliverer(
  settings: WebhookSettings,
  secrets: Readonly<Record<string, string>>,
  o: { ca: Buffer | null; timeoutMs: number; externalUrl: string },
): Deliverer {
  return {
    deliver: (n) => {
      const body = Buffer.from(JSON.stringify(webhookPayload(n, o.externalUrl)));
      const headers: Record<string, string> = { [SIGNATURE_HEADER]: signBody(body, secrets.secret ?? '') };
      if (secrets.bearer_token) headers.Authorization = `Bearer ${secrets.bearer_token}`;
      return httpsPost(settings.url, body, { ca: o.ca, headers, timeoutMs: o.timeoutMs });
    },
  };
}
