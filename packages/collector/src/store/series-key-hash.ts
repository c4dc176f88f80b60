import { randomBytes } from 'node:crypto';
import type { Label } from '@ximp/shared';

/**
 * The 64-bit hash of a series key that the series index holds in place of the key: two 32-bit
 * lanes in the manner of MurmurHash3's x86 128-bit variant (two UTF-16 code units a block, a
 * block to each lane in turn, the lanes fed into each other, each finished with its avalanche),
 * seeded at random per process.
 *
 * Why a hash is enough here: the index is per node, so two keys can only be confused within one
 * node's series; for a node of n series the chance that any two of them share a hash is about
 * n^2 / 2^65 (7e-15 at 500 series, 3e-8 at a million). The seed is not a secret key against
 * crafted collisions; a collision an agent crafted would merge two of its own node's series,
 * which carry whatever values it sends anyway. The table's rows stay the truth: the index only
 * saves reading them.
 */
const seeds = randomBytes(8);
const SEED_A = seeds.readUInt32LE(0);
const SEED_B = seeds.readUInt32LE(4);

/** The last hash computed: [high word, low word]. Read it before hashing again. */
export const keyHash = new Uint32Array(2);
/** The key `keyHash` holds: a store hashes a key to look it up, then again to add it. */
let lastKey: string | undefined;

/** Hashes `key` into `keyHash` (allocates nothing). Four UTF-16 code units a round, two to each lane. */
export function hashSeriesKey(key: string): void {
  if (key === lastKey) return;
  let a = SEED_A;
  let b = SEED_B;
  const n = key.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    a = roundA(a, b, key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16));
    b = roundB(b, a, key.charCodeAt(i + 2) | (key.charCodeAt(i + 3) << 16));
  }
  // The last one to three units, as MurmurHash3 takes a tail: mixed in, not rounded.
  if (i < n) a ^= mixA(key.charCodeAt(i) | (i + 1 < n ? key.charCodeAt(i + 1) << 16 : 0));
  if (i + 2 < n) b ^= mixB(key.charCodeAt(i + 2));
  finish(a, b, n);
  lastKey = key;
}

/** The lanes after the last unit, and the count of units, into `keyHash`. */
function finish(a: number, b: number, n: number): void {
  a ^= n;
  b ^= n;
  a = (a + b) | 0;
  b = (b + a) | 0;
  a = avalanche(a);
  b = avalanche(b);
  a = (a + b) | 0;
  b = (b + a) | 0;
  keyHash[0] = a;
  keyHash[1] = b;
}

/** Lane A after a full block `k`; `b` is the other lane. */
function roundA(a: number, b: number, k: number): number {
  a ^= mixA(k);
  a = (a << 19) | (a >>> 13);
  a = (a + b) | 0;
  return (Math.imul(a, 5) + 0x561ccd1b) | 0;
}

/** Lane B after a full block `k`, lane A's round already taken. */
function roundB(b: number, a: number, k: number): number {
  b ^= mixB(k);
  b = (b << 17) | (b >>> 15);
  b = (b + a) | 0;
  return (Math.imul(b, 5) + 0x0bcaa747) | 0;
}

function mixA(k: number): number {
  k = Math.imul(k, 0x239b961b);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0xab0e9789);
}

function mixB(k: number): number {
  k = Math.imul(k, 0xab0e9789);
  k = (k << 16) | (k >>> 16);
  return Math.imul(k, 0x38b34ae5);
}

/** Declares that `keyHash` holds the hash of `key` (computed by `hashSeries` for the same series). */
export function adoptSeriesKey(key: string): void {
  lastKey = key;
}

// The state of `hashSeries`, which feeds the same code units one at a time.
let lane = 0;
let laneB = 0;
let units = 0;
let blockA = 0;
let blockB = 0;

/**
 * Hashes the key of the series `name` with `labels` into `keyHash` without building the key:
 * the same hash as `hashSeriesKey(name + '\0' + labelsJson)`, with labelsJson as
 * `labelsJsonOf` writes it. False (nothing hashed) when the labels are not sorted by name or a
 * text holds a character JSON escapes (a quote, a backslash, a control character, a surrogate):
 * the caller then builds the key.
 */
export function hashSeries(name: string, labels: readonly Label[]): boolean {
  for (let i = 1; i < labels.length; i++) if (labels[i - 1].name > labels[i].name) return false;
  lastKey = undefined;
  lane = SEED_A;
  laneB = SEED_B;
  units = 0;
  for (let i = 0; i < name.length; i++) unit(name.charCodeAt(i));
  unit(0);
  unit(0x5b); // [
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) unit(0x2c); // ,
    unit(0x5b);
    if (!jsonText(labels[i].name)) return false;
    unit(0x2c);
    if (!jsonText(labels[i].value)) return false;
    unit(0x5d); // ]
  }
  unit(0x5d);
  let a = lane;
  let b = laneB;
  const phase = units & 3;
  if (phase > 0) a ^= mixA(blockA);
  if (phase === 3) b ^= mixB(blockB);
  finish(a, b, units);
  return true;
}

/** A text as JSON.stringify writes it when it needs no escape; false when it would. */
function jsonText(text: string): boolean {
  unit(0x22);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
    unit(c);
  }
  unit(0x22);
  return true;
}

/** One code unit into the round of four that `hashSeriesKey` takes at once. */
function unit(c: number): void {
  switch (units & 3) {
    case 0:
      blockA = c;
      break;
    case 1:
      blockA |= c << 16;
      break;
    case 2:
      blockB = c;
      break;
    default:
      blockB |= c << 16;
      lane = roundA(lane, laneB, blockA);
      laneB = roundB(laneB, lane, blockB);
  }
  units++;
}

/** MurmurHash3's finaliser: every input bit reaches every output bit. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
