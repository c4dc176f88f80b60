import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** The largest multiple of 36 that fits in a byte: bytes at or above it are discarded, so `b % 36` is unbiased. */
const REJECT_FROM = 252;

/**
 * A random string of `length` characters of `[a-z0-9]` from the operating system's CSPRNG.
 * Rejection sampling keeps every character uniform (no modulo bias): 52 characters carry
 * log2(36^52) ≈ 268 bits.
 */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(length - out.length + 8);
    for (const b of bytes) {
      if (b >= REJECT_FROM) continue;
      out += ALPHABET[b % 36];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * SHA-256 of a secret. Our secrets are >= 256 bits drawn from a CSPRNG, so a brute-force search
 * of the hash is as hopeless as a search of the secret itself; a slow KDF (scrypt, argon2) only
 * protects low-entropy human passwords and would cost milliseconds on every agent connect and
 * API request. A leaked database therefore reveals no usable secret.
 */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Compares a presented secret with a stored hash in constant time: the candidate is hashed
 * first, so both sides are 32 bytes and `timingSafeEqual` never sees different lengths.
 */
export function secretMatches(secret: string, hash: Uint8Array): boolean {
  const candidate = hashSecret(secret);
  if (hash.length !== candidate.length) return false;
  return timingSafeEqual(candidate, hash);
}

/** A hash that matches no secret: compared against when an ID is unknown, so that answer takes as long as a wrong secret. */
export const UNMATCHABLE_HASH: Buffer = Buffer.alloc(32);
