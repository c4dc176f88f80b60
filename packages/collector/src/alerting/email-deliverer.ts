import { createTransport } from 'nodemailer';
import type { EmailSettings } from './channel-definition';
import type { Notification } from './notification';
import type { Deliverer, DeliveryResult } from './notifier';

/**
 * Sends a notification as one email over SMTP: STARTTLS (required, so a server that does not
 * offer it is refused before any password is sent) or implicit TLS, TLS 1.3 only, the server
 * verified against `ca_file` or the system's CAs. Authentication happens only inside TLS.
 */
export function emailDeliverer(settings: EmailSettings, secrets: Readonly<Record<string, string>>, o: { ca: Buffer | null; timeoutMs: number }): Deliverer {
  const transport = createTransport({
    host: settings.smtp_host,
    port: settings.smtp_port,
    secure: settings.tls === 'implicit',
    requireTLS: settings.tls === 'starttls',
    ignoreTLS: false,
    auth: settings.username === null ? undefined : { user: settings.username, pass: secrets.password ?? '' },
    tls: { minVersion: 'TLSv1.3', rejectUnauthorized: true, ...(o.ca ? { ca: o.ca } : {}), servername: settings.smtp_host },
    connectionTimeout: o.timeoutMs,
    greetingTimeout: o.timeoutMs,
    socketTimeout: o.timeoutMs,
    logger: false,
    debug: false,
  });
  return {
    deliver: async (n): Promise<DeliveryResult> => {
      try {
        const info = await transport.sendMail({ from: settings.from, to: settings.to, subject: subjectOf(n), text: textOf(n) });
        return { ok: true, detail: `accepted by ${settings.smtp_host}: ${String(info.response ?? '').slice(0, 120)}`.trim() };
      } catch (err) {
        return emailFailure(err);
      }
    },
  };
}

/** SMTP 4xx and connection trouble may pass later; 5xx and a refused login will not. */
function emailFailure(err: unknown): DeliveryResult {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const code = e.responseCode;
  const detail = `${e.code ?? 'error'}${code ? ` ${code}` : ''}: ${(e.message ?? String(err)).replace(/[\r\n]+/g, ' ').slice(0, 200)}`;
  if (e.code === 'EAUTH') return { ok: false, retry: false, detail };
  if (code !== undefined) return { ok: false, retry: code >= 400 && code < 500, detail };
  return { ok: false, retry: true, detail };
}

function subjectOf(n: Notification): string {
  const firing = n.alerts.filter((a) => a.status === 'firing');
  const instances = n.alerts.map((a) => a.instance);
  const shown = instances.slice(0, 3).join(', ') + (instances.length > 3 ? `, +${instances.length - 3}` : '');
  const prefix = n.test ? '[TEST] ' : '';
  return `${prefix}[${n.status.toUpperCase()}${firing.length > 0 ? `:${firing.length}` : ''}] ${n.rule} (${shown})`;
}

function textOf(n: Notification): string {
  const lines = [`Rule: ${n.rule}`, `Status: ${n.status}`, ''];
  for (const a of n.alerts) {
    lines.push(`- ${a.status.toUpperCase()} ${a.instance}: ${a.annotations.summary ?? ''}`);
    lines.push(`  since ${a.startsAt}${a.status === 'resolved' ? `, resolved ${a.endsAt}` : ''}`);
    lines.push(`  labels: ${Object.entries(a.labels).map(([k, v]) => `${k}="${v}"`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
