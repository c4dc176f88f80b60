import type { PeerCertificate } from 'node:tls';
import t from 'tap';
import { certificateComponent } from '../src/tls/component-marker';
import { componentIdentityCheck, describeTrustFailure, trustFailureKind, WrongComponentError } from '../src/tls/trust-failure';

const ctx = { peer: 'the collector', urlSetting: 'server.url', caSetting: 'server.ca_file' };
const errWith = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const peer = (subject: Record<string, unknown>): PeerCertificate => ({ subject, subjectaltname: 'DNS:localhost' }) as unknown as PeerCertificate;

t.test('each TLS error code maps to its kind; other errors are no trust failure', async (t) => {
  t.equal(trustFailureKind(errWith('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), 'unknown_ca');
  t.equal(trustFailureKind(errWith('SELF_SIGNED_CERT_IN_CHAIN')), 'unknown_ca');
  t.equal(trustFailureKind(errWith('DEPTH_ZERO_SELF_SIGNED_CERT')), 'unknown_ca');
  t.equal(trustFailureKind(errWith('ERR_TLS_CERT_ALTNAME_INVALID')), 'wrong_host');
  t.equal(trustFailureKind(errWith('CERT_HAS_EXPIRED')), 'expired');
  t.equal(trustFailureKind(errWith('CERT_NOT_YET_VALID')), 'not_yet_valid');
  t.equal(trustFailureKind(errWith('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION')), 'tls_version');
  t.equal(trustFailureKind(errWith('EPROTO', 'write EPROTO ...:tlsv1 alert protocol version:...')), 'tls_version');
  t.equal(trustFailureKind(errWith('EPROTO', 'write EPROTO something else')), null);
  t.equal(trustFailureKind(errWith('ECONNREFUSED')), null);
  t.equal(trustFailureKind(new Error('plain')), null);
  t.equal(trustFailureKind(null), null);
  t.equal(trustFailureKind(new WrongComponentError('api', 'collector')), 'wrong_component');
  t.equal(describeTrustFailure(errWith('ECONNREFUSED'), ctx), null);
});

t.test('messages name the problem and what to check', async (t) => {
  const host = Object.assign(errWith('ERR_TLS_CERT_ALTNAME_INVALID'), { host: 'mon1', cert: peer({}) });
  t.match(describeTrustFailure(host, ctx)?.message, "the collector's certificate does not name host mon1 (its SANs: DNS:localhost): check the host in server.url");
  t.match(describeTrustFailure(errWith('CERT_HAS_EXPIRED'), { ...ctx, notAfter: '2026-01-01T00:00:00.000Z' })?.message, 'has expired (NOT-AFTER 2026-01-01T00:00:00.000Z)');
  t.match(describeTrustFailure(errWith('CERT_HAS_EXPIRED'), ctx)?.message, 'NOT-AFTER unknown');
  t.match(describeTrustFailure(errWith('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), ctx)?.message, 'check server.ca_file');
  t.match(
    describeTrustFailure(new WrongComponentError('api', 'collector'), ctx)?.message,
    'the collector presented a certificate for component api, not collector: check that server.url points at the agent port',
  );
  t.match(
    describeTrustFailure(new WrongComponentError('collector', 'api'), ctx)?.message,
    'the collector presented a certificate for component collector, not api: check that server.url points at the API port, not the agent port',
  );
});

t.test('the component marker is read from the subject OU, single or several', async (t) => {
  t.equal(certificateComponent(peer({ OU: 'ximp-component=collector' })), 'collector');
  t.equal(certificateComponent(peer({ OU: ['ops', 'ximp-component=api'] })), 'api');
  t.equal(certificateComponent(peer({ OU: 'ops' })), null);
  t.equal(certificateComponent(peer({})), null);
});

t.test('componentIdentityCheck: host first, then the marker; unmarked passes and is reported', async (t) => {
  const unmarked: PeerCertificate[] = [];
  const ok = (): undefined => undefined;
  const check = componentIdentityCheck('collector', (c) => unmarked.push(c), ok);
  t.equal(check('h', peer({ OU: 'ximp-component=collector' })), undefined);
  const wrong = check('h', peer({ OU: 'ximp-component=api' }));
  t.type(wrong, WrongComponentError);
  t.match(wrong, { code: 'XIMP_ERR_TLS_UNTRUSTED', component: 'api', expected: 'collector' });
  t.equal(check('h', peer({ CN: 'old' })), undefined);
  t.equal(unmarked.length, 1);
  const hostErr = new Error('host');
  t.equal(componentIdentityCheck('collector', () => undefined, () => hostErr)('h', peer({ OU: 'ximp-component=api' })), hostErr, 'a host mismatch wins');
});
