import { ErrorCodes, hasCode, type CertificateJson, type RenewedJson } from '@ximp/shared';
import { LEAF_COMPONENTS, PKI_COMPONENTS, isLeafComponent, isStatusComponent, type LeafComponent } from '../pki/components';
import { CA_ROLL_STEPS, isCaRollStep, type CaRollResult, type CaRollStep } from '../pki/ca-roll';
import type { ApiDeps } from './api-deps';
import type { CertificateView, RenewedCertificate } from '../pki/certificate-manager';
import { HttpError, invalidRequest } from './http-error';
import { checkParams, rejectUnknownFields, stringField } from './request-fields';
import { readJsonObject } from './request-body';
import type { Route } from './route-table';

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

export function renewedJson(renewed: RenewedCertificate): RenewedJson {
  return { component: renewed.component, serial: renewed.serial, not_after: renewed.notAfter.toISOString() };
}

/** What one step of the CA roll did (`POST /api/v1/tls/renew` with `"component": "ca"`). */
export interface CaRollJson {
  component: 'ca';
  step: CaRollStep;
  /** False when the roll already was at this step: nothing was done again. */
  changed: boolean;
  /** The CA the step is about: the next CA after bundle, the issuing CA after switch and drop-old. */
  subject: string;
  serial: string;
  not_after: string;
  /** The file to distribute as every agent's server.ca_file, the CLI's ca_file and the store's client CA. */
  bundle_file: string;
  /** The leaves switch re-issued with the new CA. */
  renewed: RenewedJson[];
}

export function caRollJson(result: CaRollResult<RenewedCertificate>): CaRollJson {
  return {
    component: 'ca',
    step: result.step,
    changed: result.changed,
    subject: result.ca.subject,
    serial: result.ca.serial,
    not_after: result.ca.notAfter.toISOString(),
    bundle_file: result.bundleFile,
    renewed: result.renewed.map(renewedJson),
  };
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

type RenewTarget = readonly LeafComponent[] | 'all' | { ca: CaRollStep };

/**
 * The body of `POST /api/v1/tls/renew`: `{"all": true}` or `{"component": NAME}`, exactly one;
 * `{"component": "ca", "step": STEP}` runs a step of the CA roll (default `bundle`).
 */
function renewTarget(body: Record<string, unknown>): RenewTarget {
  rejectUnknownFields(body, ['all', 'component', 'step']);
  const hasAll = Object.prototype.hasOwnProperty.call(body, 'all');
  const hasComponent = Object.prototype.hasOwnProperty.call(body, 'component');
  if (hasAll && hasComponent) throw invalidRequest('all, component: give one of them, not both');
  if (hasAll) {
    if (body.all !== true) throw invalidRequest('all: expected true');
    return 'all';
  }
  if (!hasComponent) throw invalidRequest('component: required (or "all": true)');
  const name = stringField(body, 'component', true);
  const step = stringField(body, 'step', false);
  // Rolling the CA needs agents to trust old and new first: three steps the operator runs in turn.
  if (name === 'ca') {
    if (step === undefined) return { ca: 'bundle' };
    if (!isCaRollStep(step)) throw invalidRequest(`step: expected one of ${CA_ROLL_STEPS.join(', ')}`);
    return { ca: step };
  }
  if (step !== undefined) throw invalidRequest('step: only with "component": "ca" (the steps of a CA roll)');
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
        // ca-next and ca-old are rows of a roll under way, not named among the components;
        // `store-client:<store>` is a remote store's own pair from files.
        if (!isStatusComponent(name) && !STORE_ROW.test(name)) throw unknownComponent(name, PKI_COMPONENTS);
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
      if (typeof target === 'object' && 'ca' in target) return rollCa(deps, manager, target.ca, principal!.clientId, source);
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

/** One step of the CA roll: 409 out of order, 500 when it failed (everything old kept), audited when it changed something. */
async function rollCa(
  deps: ApiDeps,
  manager: NonNullable<ApiDeps['certificates']>,
  step: CaRollStep,
  actor: string,
  source: string,
): Promise<{ status: number; body: CaRollJson }> {
  if (manager.rollCa === undefined) throw new HttpError(503, 'unavailable', 'rolling the CA is not available in this collector');
  let result: CaRollResult<RenewedCertificate>;
  try {
    result = await manager.rollCa(step);
  } catch (err) {
    if (hasCode(err, ErrorCodes.PKI_ROLL_OUT_OF_ORDER)) throw new HttpError(409, 'conflict', (err as Error).message);
    if (!hasCode(err, ErrorCodes.PKI_RENEW_FAILED)) throw err;
    deps.log.warn({ err, client: actor, remote: source, step }, 'CA roll step failed');
    throw new HttpError(500, 'renewal_failed', (err as Error).message);
  }
  // A repeated step changes nothing: no entry, as for a renewal that renews nothing.
  if (result.changed) deps.audit.record({ actor, action: 'tls.renew', target: `ca:${step}`, source }, deps.now());
  deps.log.info({ step, changed: result.changed, serial: result.ca.serial, client: actor, remote: source }, 'CA roll step done');
  return { status: 200, body: caRollJson(result) };
}
