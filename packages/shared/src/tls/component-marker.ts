import type { PeerCertificate } from 'node:tls';

/**
 * The collector's CA writes the component a leaf is for into its subject as an OU of this form
 * (`OU=ximp-component=collector`), so that the agent can refuse the API's certificate on the
 * agent port: a leaked `api` key must not let anyone impersonate the collector to agents.
 */
export const COMPONENT_MARKER_PREFIX = 'ximp-component=';

/** The component a peer certificate is marked for, or null when it carries no marker (issued before markers). */
export function certificateComponent(cert: Pick<PeerCertificate, 'subject'>): string | null {
  const ou: unknown = cert.subject?.OU;
  const units = Array.isArray(ou) ? (ou as unknown[]) : ou === undefined ? [] : [ou];
  for (const unit of units) {
    if (typeof unit === 'string' && unit.startsWith(COMPONENT_MARKER_PREFIX)) return unit.slice(COMPONENT_MARKER_PREFIX.length);
  }
  return null;
}
