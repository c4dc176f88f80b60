// A stand-in for the certificate manager behind the TLS routes (not itself a test): fixed views,
// recorded renewal requests, and an injectable renewal failure.
import type { CertificateView, RenewedCertificate } from '../../dist/pki/certificate-manager';
import type { LeafComponent, PkiComponent } from '../../dist/pki/components';

const DAY = 86_400_000;

export interface FakeCertificates {
  status(component?: PkiComponent): CertificateView[];
  renew(components: readonly LeafComponent[] | 'all'): Promise<RenewedCertificate[]>;
  views: CertificateView[];
  /** Every renew() argument, in order. */
  renewCalls: (readonly LeafComponent[] | 'all')[];
  /** What renew('all') renews: the leaves not from operator files. */
  managed: LeafComponent[];
  /** When set, renew() rejects with it. */
  failure: Error | null;
}

function view(component: PkiComponent, daysLeft: number, extra: Partial<CertificateView>, now: number): CertificateView {
  return {
    component,
    subject: `CN=ximp ${component}`,
    issuer: 'CN=ximp CA',
    serial: `0${PKI_SERIALS[component]}`,
    notBefore: new Date(now - 10 * DAY),
    // An hour past the whole days, so the table's relative form reads "in Nd" however long the test takes.
    notAfter: new Date(now + daysLeft * DAY + 3_600_000),
    daysLeft,
    status: 'ok',
    source: 'managed',
    error: null,
    ...extra,
  };
}

const PKI_SERIALS: Record<PkiComponent, string> = { ca: '1a', collector: '2b', api: '3c', 'store-client': '4d' };

/** The four components: the CA (10 years), collector ok, api in error, store-client from files and due. */
export function fakeCertificates(now: number = Date.now()): FakeCertificates {
  const fake: FakeCertificates = {
    views: [
      view('ca', 3650, {}, now),
      view('collector', 300, {}, now),
      view('api', 20, { status: 'error', error: 'cannot write pki/api.key: EACCES' }, now),
      view('store-client', 12, { status: 'renew-due', source: 'file' }, now),
    ],
    renewCalls: [],
    managed: ['collector', 'api'],
    failure: null,
    status(component) {
      return component === undefined ? [...fake.views] : fake.views.filter((v) => v.component === component);
    },
    async renew(components) {
      fake.renewCalls.push(components);
      if (fake.failure !== null) throw fake.failure;
      const list: readonly LeafComponent[] = components === 'all' ? fake.managed : components;
      return list.map((component, i) => ({ component, serial: `f${i}`, notAfter: new Date(now + 365 * DAY + 3_600_000) }));
    },
  };
  return fake;
}
