import { randomBytes } from 'node:crypto';

/**
 * A one-time password for a new or reset local user (SPEC §15): 20 characters of base64url from
 * 15 random bytes (120 bits). The user must replace it at the first sign-in.
 */
export function oneTimePassword(): string {
  return randomBytes(15).toString('base64url');
}
