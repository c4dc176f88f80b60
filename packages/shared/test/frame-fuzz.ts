import fc from 'fast-check';

/**
 * Hostile bytes for a hand-written frame reader that must answer as the codec does: `same(bytes)`
 * checks one input and returns whether both agreed.
 */

/** Encodings of `frames`' values with up to four bytes overwritten, or cut short. */
export function checkMutatedFrames<T>(frames: fc.Arbitrary<T>, encode: (frame: T) => Uint8Array, same: (bytes: Uint8Array) => boolean, numRuns: number): void {
  fc.assert(
    fc.property(
      frames,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      fc.boolean(),
      (frame, flips, cut, truncate) => {
        const bytes = Buffer.from(encode(frame));
        for (const [at, byte] of flips) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        return same(truncate ? bytes.subarray(0, cut % (bytes.length + 1)) : bytes);
      },
    ),
    { numRuns },
  );
}

/** Random bytes: alone, and as the body of a length-delimited field behind each tag of `heads`. */
export function checkRandomFrames(heads: readonly number[], same: (bytes: Uint8Array) => boolean, numRuns: number): void {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => same(Buffer.from(bytes))),
    { numRuns },
  );
  for (const head of heads) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => same(Buffer.concat([Buffer.from([head, tail.length]), tail]))),
      { numRuns },
    );
  }
}
