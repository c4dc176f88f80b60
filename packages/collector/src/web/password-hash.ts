import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * SPEC §15: scrypt N=2^15, r=8, p=1, a 16-byte salt and a 32-byte key, stored as one string
 * `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64url), so the cost can be raised later and old
 * hashes still verify. People choose passwords: unlike our random secrets (secret-hash.ts) they
 * need a slow, memory-hard function.
 */
const LOG2_N = 15;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** scrypt needs 128·N·r bytes (32 MiB here); Node's default cap is exactly that, so give room. */
const MAX_MEM = 64 * 1024 * 1024;
const FORM = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { ...options, maxmem: MAX_MEM }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** The stored form of `password`: a fresh salt, derived off the event loop (libuv's pool). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, { N: 2 ** LOG2_N, r: R, p: P });
  return `scrypt$${LOG2_N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/**
 * True when `password` matches `stored`, compared in constant time. A stored value of another
 * form (a damaged row) matches nothing, after the same work as a real check.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORM.exec(stored);
  const logN = m === null ? LOG2_N : Number(m[1]);
  // Parameters outside what we write are refused rather than run (a row could ask for 2^30).
  const usable = m !== null && logN >= 14 && logN <= 17 && Number(m[2]) === R && Number(m[3]) === P;
  const salt = usable ? Buffer.from(m[4], 'base64url') : DUMMY_SALT;
  const expected = usable ? Buffer.from(m[5], 'base64url') : Buffer.alloc(KEY_BYTES);
  const key = await derive(password, salt, { N: 2 ** (usable ? logN : LOG2_N), r: R, p: P });
  return timingSafeEqual(key, expected) && usable;
}

const DUMMY_SALT = randomBytes(SALT_BYTES);
/** A hash of a random password nobody knows: checked against when a name is unknown. */
let dummyHash: Promise<string> | null = null;

/**
 * Spends the time of one real check and answers false: a sign-in with an unknown name then takes
 * as long as one with a wrong password, so timing does not tell which names exist.
 */
export async function verifyNoPassword(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  await verifyPassword(password, await dummyHash);
  return false;
}
