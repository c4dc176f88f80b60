import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { ErrorCodes, XimpError, unsafeModeProblem, writeSecretFile } from '@ximp/shared';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Sealed values start with this, so a value in clear (or of a later format) is never mistaken for one. */
const PREFIX = 'v1.';

/**
 * Channel credentials (SMTP passwords, webhook signing secrets, bearer tokens) encrypted at rest
 * with AES-256-GCM under `<data_dir>/secrets.key`. Each value is bound to where it is stored (the
 * `context`, e.g. `channel:ops-hook:secret`), so a sealed value copied into another row or field
 * does not open. Messages name the key file and the context, never a value.
 */
export class SecretBox {
  private constructor(
    private readonly key: Buffer,
    readonly keyFile: string,
  ) {}

  /**
   * Reads the key file, creating it (0600, 32 random bytes as hex) when it does not exist.
   * Throws XIMP_ERR_SECRET_KEY when it cannot be read, holds no 32-byte key, or is open to others.
   */
  static openOrCreate(keyFile: string): SecretBox {
    if (!fs.existsSync(keyFile)) {
      try {
        writeSecretFile(keyFile, `${crypto.randomBytes(KEY_BYTES).toString('hex')}\n`, { exclusive: true });
      } catch (err) {
        // Another process created it first: read that one.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw keyError(keyFile, `cannot create it (${(err as Error).message})`, err);
      }
    }
    let text: string;
    try {
      const stat = fs.statSync(keyFile);
      const problem = unsafeModeProblem(stat.mode, { secret: true }) ?? ((stat.mode & 0o040) !== 0 ? 'readable by its group' : null);
      if (problem !== null) throw keyError(keyFile, `${problem} (mode ${(stat.mode & 0o777).toString(8)}): chmod 600`);
      text = fs.readFileSync(keyFile, 'utf8').trim();
    } catch (err) {
      if (err instanceof XimpError) throw err;
      throw keyError(keyFile, `cannot read it (${(err as Error).message})`, err);
    }
    if (!/^[0-9a-f]{64}$/i.test(text)) throw keyError(keyFile, `does not hold a key (expected ${KEY_BYTES * 2} hex digits)`);
    return new SecretBox(Buffer.from(text, 'hex'), keyFile);
  }

  /** Encrypts `plain` for storage under `context`. */
  seal(plain: string, context: string): string {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /**
   * Decrypts a value sealed under `context`. Throws XIMP_ERR_SECRET_UNREADABLE when it was sealed
   * under another key or context, or was altered.
   */
  open(sealed: string, context: string): string {
    const raw = sealed.startsWith(PREFIX) ? Buffer.from(sealed.slice(PREFIX.length), 'base64url') : null;
    if (raw === null || raw.length < IV_BYTES + TAG_BYTES) {
      throw new XimpError(ErrorCodes.SECRET_UNREADABLE, `the stored secret ${context} is not a sealed value`);
    }
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new XimpError(
        ErrorCodes.SECRET_UNREADABLE,
        `the stored secret ${context} does not decrypt with ${this.keyFile}: was the key file replaced? Set the secret again`,
        { cause: err },
      );
    }
  }
}

function keyError(keyFile: string, problem: string, cause?: unknown): XimpError {
  return new XimpError(ErrorCodes.SECRET_KEY, `secrets key ${keyFile}: ${problem}`, { cause });
}
