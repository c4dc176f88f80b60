import * as path from 'node:path';

/** The trust bundle a CA roll writes next to the CA (ca-roll.ts): the file operators distribute. */
export const CA_BUNDLE_FILE = 'ca-bundle.pem';

/**
 * The bundle a client of the collector should trust besides `caFile`, when `caFile` is the XIMP CA
 * itself (`<data_dir>/pki/ca.pem`, the default): during a CA roll a server may already have a
 * certificate of the next CA. Undefined for a CA the operator chose, which a roll does not touch.
 */
export function trustBundleFor(dataDir: string, caFile: string): string | undefined {
  const pkiDir = path.resolve(dataDir, 'pki');
  return path.resolve(caFile) === path.join(pkiDir, 'ca.pem') ? path.join(pkiDir, CA_BUNDLE_FILE) : undefined;
}
