import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WriteFileOptions {
  /**
   * Refuse to replace an existing file (fails with EEXIST). The new content is still complete
   * before it appears under its name: it is linked into place instead of renamed.
   */
  exclusive?: boolean;
}

/** Writes a file only its owner may read or write (0600): private keys, secrets, CLI configs. */
export function writeSecretFile(file: string, data: string | Uint8Array, options: WriteFileOptions = {}): void {
  writeAtomically(file, data, 0o600, options);
}

/** Writes a file anyone may read (0644): certificates. */
export function writePublicFile(file: string, data: string | Uint8Array, options: WriteFileOptions = {}): void {
  writeAtomically(file, data, 0o644, options);
}

/** Why a file holding a secret is too open: others may read it, or anyone but its owner may write it. */
export type FileModeProblem = 'readable_by_others' | 'writable_by_others';

/**
 * The one rule for files that hold secrets (agent.yaml, a token file, the CLI config, a CA file):
 * a problem when users other than the owner and its group may read it (the group is how a
 * service account is usually given read access), or when anyone but the owner may write it.
 * `mode` is a stat mode; only its permission bits count.
 */
export function fileModeProblem(mode: number): FileModeProblem | null {
  if ((mode & 0o004) !== 0) return 'readable_by_others';
  if ((mode & 0o022) !== 0) return 'writable_by_others';
  return null;
}

/** True when users other than the owner and group may read `file` (the "other" read bit). */
export function isReadableByOthers(file: string): boolean {
  return fileModeProblem(fs.statSync(file).mode) === 'readable_by_others';
}

/** True when no one but the owner has any access (no group or other bits): a private folder. */
export function isOwnerOnly(mode: number): boolean {
  return (mode & 0o077) === 0;
}

/**
 * Creates `dir` (and missing parents) so that only its owner may enter it, and tightens the
 * folder itself to 0700 if it already existed with a looser mode.
 */
export function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((fs.statSync(dir).mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
}

/**
 * The content goes to a temporary file in the same folder, created with the final mode (so it
 * never exists with a looser one, whatever the umask), flushed, then renamed (or linked, when
 * exclusive) over the target: a reader sees the old file or the new one, never a torn one.
 */
function writeAtomically(file: string, data: string | Uint8Array, mode: number, options: WriteFileOptions): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    try {
      // The umask may have removed bits the caller asked for (0644 under umask 077).
      fs.fchmodSync(fd, mode);
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (options.exclusive) {
      fs.linkSync(tmp, file);
      fs.unlinkSync(tmp);
    } else {
      fs.renameSync(tmp, file);
    }
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // already renamed or never created; nothing to clean up
    }
    throw err;
  }
  syncDir(dir);
}

/** Makes the rename itself durable; best effort, as some file systems refuse fsync on folders. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // durability of the folder entry is a bonus, not a requirement
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
