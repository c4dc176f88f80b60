import { ErrorCodes, hasCode } from '@ximp/shared';
import { LEAF_COMPONENTS, PKI_COMPONENTS, isLeafComponent, isPkiComponent, type LeafComponent } from '../pki/components';
import type { ApiDeps } from './api-deps';
import type { CertificateView, RenewedCertificate } from '../pki/certificate-manager';
import { HttpError, invalidRequest } from './http-error';
import { checkParams, rejectUnknownFields, stringField } from './request-fields';
import { readJsonObject } from './request-body';
import type { Route } from './route-table';

/** A certificate as `GET /api/v1/tls/certificates` lists it (SPEC §6: ISO 8601 times, days_left a number). */
export interface CertificateJson {
  component: CertificateView['component'];
  subject: string;
  issuer: string;
  serial: string;
  not_before: string;
  not_after: string;
  days_left: number;
  status: CertificateView['status'];
  source: CertificateView['source'];
  error: string | null;
  /** SOURCE `file` only: the operator's certificate file. */
  cert_file?: string;
}

export function certificateJson(view: CertificateView): CertificateJson {
  return {
    component: view.component,
    subject: view.subject,
    issuer: view.issuer,
    serial: view.serial,
    not_before: view.notBefore.toISOString(),
    not_after: view.notAfter.toISOString(),
    days_left: view.daysLeft,
    status: view.status,
    source: view.source,
    error: view.error,
    ...(view.certFile !== undefined ? { cert_file: view.certFile } : {}),
  };
}

export interface RenewedJson {
  component: LeafComponent;
  serial: string;
  not_after: string;
}

export function renewedJson(renewed: RenewedCertificate): RenewedJson {
  return { component: renewed.component, serial: renewed.serial, not_after: renewed.notAfter.toISOString() };
}

/** Only something shaped like a component name is repeated back in a message. */
const NAME_LIKE = /^[a-z][a-z0-9-]{0,31}$/;
const STORE_ROW = /^store-client:[a-z0-9_-]{1,32}$/;

function unknownComponent(name: string, known: readonly string[]): HttpError {
  const shown = NAME_LIKE.test(name) ? ` "${name}"` : '';
  return invalidRequest(`component: unknown component${shown} (expected ${known.join(', ')})`);
}

function managerOf(deps: ApiDeps): NonNullable<ApiDeps['certificates']> {
  if (deps.certificates === undefined) {
    throw new HttpError(503, 'unavailable', 'certificate management is not available in this collector');
  }
  return deps.certificates;
}

/** The body of `POST /api/v1/tls/renew`: `{"all": true}` or `{"component": NAME}`, exactly one. */
function renewTarget(body: Record<string, unknown>): readonly LeafComponent[] | 'all' {
  rejectUnknownFields(body, ['all', 'component']);
  const hasAll = Object.prototype.hasOwnProperty.call(body, 'all');
  const hasComponent = Object.prototype.hasOwnProperty.call(body, 'component');
  if (hasAll && hasComponent) throw invalidRequest('all, component: give one of them, not both');
  if (hasAll) {
    if (body.all !== true) throw invalidRequest('all: expected true');
    return 'all';
  }
  if (!hasComponent) throw invalidRequest('component: required (or "all": true)');
  const name = stringField(body, 'component', true);
  // Rolling the CA needs agents to trust old and new first: not a one-request renewal.
  if (name === 'ca') throw invalidRequest('component: ca is not renewed this way (a CA roll is a separate, staged procedure)');
  if (!isLeafComponent(name)) throw unknownComponent(name, LEAF_COMPONENTS);
  return [name];
}

/** SPEC §6 and §10: certificate status and on-demand renewal, admin only. */
export const TLS_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/tls/certificates',
    permission: 'tls:read',
    handler({ deps, query }) {
      checkParams(query, ['component']);
      const name = query.get('component');
      let component: CertificateView['component'] | undefined;
      if (name !== null) {
        // `store-client:<store>`: a remote store's own pair from files.
        if (!isPkiComponent(name) && !STORE_ROW.test(name)) throw unknownComponent(name, PKI_COMPONENTS);
        component = name as CertificateView['component'];
      }
      return { status: 200, body: managerOf(deps).status(component).map(certificateJson) };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/tls/renew',
    permission: 'tls:renew',
    async handler({ deps, req, principal, source }) {
      const manager = managerOf(deps);
      const target = renewTarget(await readJsonObject(req));
      let renewed: RenewedCertificate[];
      try {
        renewed = await manager.renew(target);
      } catch (err) {
        // A failed renewal is written for people (never key material); the old certificates keep
        // serving. Anything else is a fault of ours: the generic 500.
        if (!hasCode(err, ErrorCodes.PKI_RENEW_FAILED)) throw err;
        deps.log.warn({ err, client: principal!.clientId, remote: source, components: target }, 'certificate renewal failed');
        throw new HttpError(500, 'renewal_failed', (err as Error).message);
      }
      const components = renewed.map((r) => r.component);
      // `all` with every leaf from operator files renews nothing: no change, no entry.
      if (components.length > 0) {
        deps.audit.record({ actor: principal!.clientId, action: 'tls.renew', target: components.join(','), source }, deps.now());
      }
      deps.log.info({ components, client: principal!.clientId, remote: source }, 'certificates renewed');
      return { status: 200, body: renewed.map(renewedJson) };
    },
  },
];
