import * as fs from 'node:fs';
import { writePublicFile, writeSecretFile } from '@ximp/shared';
import type { LeafComponent } from './components';
import type { PkiPaths } from './pki-store';

/** How certificate files are written; tests pass one that fails at a chosen file. */
export interface PkiFileWriter {
  /** A key: 0600, atomically. */
  writeSecret(file: string, data: string): void;
  /** A certificate: 0644, atomically. */
  writePublic(file: string, data: string): void;
  remove(file: string): void;
}

export const DEFAULT_PKI_FILE_WRITER: PkiFileWriter = {
  writeSecret: (file, data) => writeSecretFile(file, data),
  writePublic: (file, data) => writePublicFile(file, data),
  remove: (file) => fs.rmSync(file, { force: true }),
};

export interface NewPair {
  component: LeafComponent;
  paths: PkiPaths;
  previous: PkiPaths;
  certPem: string;
  keyPem: string;
}

/** Files written by `replacePairs`, until they are committed or rolled back. */
export interface PairReplacement {
  /** The new pairs serve: the previous ones are no longer needed. Returns what could not be removed. */
  commit(): string[];
  /** Puts the old files back. Throws when that fails too (the previous pairs then stay as *.prev). */
  rollback(): void;
}

interface Written {
  pair: NewPair;
  old: { cert: string | null; key: string | null };
}

/**
 * Writes new certificate/key pairs in place, each file atomically, keeping each previous pair as
 * `<name>.prev.pem` / `<name>-key.prev.pem` until the new ones serve. Two files can never be
 * replaced as one, so the previous pair is the way back after a crash between key and
 * certificate. When a write fails, what was written is put back and the error is rethrown.
 */
export function replacePairs(pairs: readonly NewPair[], writer: PkiFileWriter = DEFAULT_PKI_FILE_WRITER): PairReplacement {
  const written: Written[] = [];
  const rollback = (): void => {
    const problems: string[] = [];
    for (const { pair, old } of [...written].reverse()) {
      const steps: Array<() => void> = [
        () => (old.key === null ? writer.remove(pair.paths.key) : writer.writeSecret(pair.paths.key, old.key)),
        () => (old.cert === null ? writer.remove(pair.paths.cert) : writer.writePublic(pair.paths.cert, old.cert)),
      ];
      let restored = true;
      for (const step of steps) {
        try {
          step();
        } catch (err) {
          restored = false;
          problems.push((err as Error).message);
        }
      }
      // Without the old files back in place, the previous pair is the only copy left: keep it.
      if (restored) removeQuietly(writer, [pair.previous.key, pair.previous.cert]);
    }
    written.length = 0;
    if (problems.length > 0) throw new Error(`restoring the previous files failed too (${problems.join('; ')}); they are kept as *.prev.pem`);
  };
  try {
    for (const pair of pairs) {
      const old = { cert: readIfPresent(pair.paths.cert), key: readIfPresent(pair.paths.key) };
      written.push({ pair, old });
      if (old.key !== null) writer.writeSecret(pair.previous.key, old.key);
      if (old.cert !== null) writer.writePublic(pair.previous.cert, old.cert);
      writer.writeSecret(pair.paths.key, pair.keyPem);
      writer.writePublic(pair.paths.cert, pair.certPem);
    }
  } catch (err) {
    try {
      rollback();
    } catch (restoreErr) {
      if (err instanceof Error) err.message += `; ${(restoreErr as Error).message}`;
    }
    throw err;
  }
  return {
    commit: () => {
      const left = removeQuietly(
        writer,
        written.flatMap(({ pair }) => [pair.previous.key, pair.previous.cert]),
      );
      written.length = 0;
      return left;
    },
    rollback,
  };
}

function readIfPresent(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Removes files, returning the messages of those that could not be removed. */
function removeQuietly(writer: PkiFileWriter, files: string[]): string[] {
  const left: string[] = [];
  for (const file of files) {
    try {
      writer.remove(file);
    } catch (err) {
      left.push((err as Error).message);
    }
  }
  return left;
}
