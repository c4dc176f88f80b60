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

/** True when no one but the owner has any access (no group or other bits): a private folder. */
export function isOwnerOnly(mode: number): boolean {
  return (mode & 0o077) === 0;
}

/**
 * What is unsafe about a file's permission bits, or null when nothing is. Group read is fine
 * (root:<service group> 0640 is the installed layout). Anyone but the owner writing it is never
 * fine: they could swap the token or the trusted CA. `secret` files (tokens, configs that hold
 * one) must not be readable by other users either.
 */
export function unsafeModeProblem(mode: number, options: { secret: boolean }): string | null {
  const problems: string[] = [];
  if (options.secret && (mode & 0o004) !== 0) problems.push('readable by other users');
  if ((mode & 0o020) !== 0) problems.push('writable by its group');
  if ((mode & 0o002) !== 0) problems.push('writable by other users');
  return problems.length === 0 ? null : problems.join(' and ');
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
