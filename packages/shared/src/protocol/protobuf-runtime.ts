import type protobufModule from 'protobufjs';

let loaded: typeof protobufModule | undefined;

/**
 * protobufjs, loaded on first use and set up the way every user here expects: 64-bit fields decode
 * as plain numbers (exact up to 2^53: sequences and unix ms fit) instead of Long objects. Loaded
 * lazily because the agent reads and writes its usual frames by hand: the library, the parsed
 * schema and its generated coders cost it about 1.5 MiB of memory it otherwise never uses.
 */
export function protobufjs(): typeof protobufModule {
  if (loaded === undefined) {
    const protobuf = require('protobufjs') as typeof protobufModule;
    (protobuf.util as { Long: unknown }).Long = undefined;
    protobuf.configure();
    loaded = protobuf;
  }
  return loaded;
}
