import type { CertificateJson, RenewedJson } from '@ximp/shared';
import { api } from '../api.js';
import { confirmDialog, notice, table } from '../components.js';
import { clear, h } from '../dom.js';
import { timeCell } from '../format.js';
import type { Page } from '../page.js';
import { errorSlot, loadInto } from './admin-parts.js';

/** The leaves the collector issues itself and renews on demand (the CA is rolled in steps). */
const RENEWABLE = ['collector', 'api', 'store-client'];

function renewable(c: CertificateJson): boolean {
  return c.source === 'managed' && RENEWABLE.includes(c.component);
}

function renewedText(renewed: RenewedJson[]): string {
  if (renewed.length === 0) return 'Nothing was renewed: every listener uses certificates from files.';
  return `Renewed ${renewed.map((r) => r.component).join(', ')}; they serve now.`;
}

/** SPEC §6 and §10: certificate status and renewal, admin only. */
export const adminCertificatesPage: Page = (root) => {
  const listBox = h('div');
  const pageError = errorSlot();
  const outcome = h('div', { class: 'outcome' });

  const renew = (question: string, body: Record<string, unknown>): void => {
    confirmDialog(question, 'Renew')
      .then(async (yes) => {
        if (!yes) return;
        pageError.clear();
        clear(outcome);
        const renewed = await api.post<RenewedJson[]>('/api/v1/tls/renew', body);
        outcome.append(notice('success', renewedText(renewed)));
        await refresh();
      })
      .catch((err: unknown) => pageError.show(err));
  };

  const refresh = (): Promise<void> =>
    loadInto(listBox, async () => {
      const certs = await api.get<CertificateJson[]>('/api/v1/tls/certificates');
      return table(
        [
          { label: 'Component', cell: (c) => c.component },
          { label: 'Subject', cell: (c) => h('span', { class: 'mono' }, c.subject) },
          { label: 'Expires', cell: (c) => timeCell(c.not_after) },
          { label: 'Days left', cell: (c) => String(c.days_left), class: 'num' },
          {
            label: 'Status',
            cell: (c) => [h('span', { class: `state cert-${c.status}` }, c.status), c.error === null ? null : h('div', { class: 'cert-error' }, c.error)],
          },
          { label: 'Source', cell: (c) => (c.source === 'file' ? ['file', c.cert_file ? h('div', { class: 'mono muted' }, c.cert_file) : null] : 'managed') },
          {
            label: 'Actions',
            cell: (c) =>
              renewable(c)
                ? h(
                    'button',
                    {
                      type: 'button',
                      class: 'secondary',
                      'aria-label': `Renew ${c.component}`,
                      onclick: () => renew(`Renew the ${c.component} certificate now? The new one serves at once; connections stay open.`, { component: c.component }),
                    },
                    'Renew',
                  )
                : null,
          },
        ],
        certs,
        { caption: 'Certificates', captionHidden: true, empty: 'This collector reports no certificates.' },
      );
    });

  const renewAll = h(
    'button',
    {
      type: 'button',
      onclick: () => renew('Renew every certificate the collector manages now? Certificates from files are left as they are.', { all: true }),
    },
    'Renew all',
  );

  root.append(
    h('h1', null, 'Certificates'),
    h(
      'p',
      null,
      'The collector renews its certificates before they expire. The CA is rolled in steps so agents trust the new one first: ',
      h('code', null, 'ximp tls renew --component ca --step bundle'),
      '.',
    ),
    h('div', { class: 'toolbar' }, renewAll),
    pageError.el,
    outcome,
    listBox,
  );
  void refresh();
};
