import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isOwnerOnly, writeSecretFile } from '@ximp/shared';

/** A cached token is not used in its last minute: a command started then might outlive it. */
export const REUSE_MARGIN_MS = 60_000;

export interface CachedToken {
  accessToken: string;
  expiresAtMs: number;
}

/** Where `ximp` keeps access tokens: `$XDG_CACHE_HOME/ximp`, else `~/.cache/ximp` (XDG base dirs). */
export function tokenCacheDir(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  const xdg = env.XDG_CACHE_HOME;
  // The spec ignores a relative XDG_CACHE_HOME: it would depend on the working directory.
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(homeDir, '.cache');
  return path.join(base, 'ximp');
}

/**
 * The CLI's access token, kept between runs so each command does not make a grant: one file per
 * server and client ID (its name a hash of both, never of the secret), 0600 in a 0700 folder,
 * reused until REUSE_MARGIN_MS before expiry. Failing to read or write it only costs a grant, so
 * it never fails a command. A file or folder others could read is not trusted.
 */
export class TokenCache {
  private readonly file: string;

  constructor(
    private readonly dir: string,
    server: string,
    clientId: string,
  ) {
    const key = crypto.createHash('sha256').update(`${server}\n${clientId}`).digest('hex').slice(0, 32);
    this.file = path.join(dir, `token-${key}.json`);
  }

  /** The cached token when it is still good at `now` plus the margin; null otherwise. */
  get(now: number): string | null {
    try {
      if (!isOwnerOnly(fs.statSync(this.dir).mode)) return null;
      const fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        if (!isOwnerOnly(fs.fstatSync(fd).mode)) return null;
        const parsed = JSON.parse(fs.readFileSync(fd, 'utf8')) as Partial<CachedToken>;
        if (typeof parsed.accessToken !== 'string' || typeof parsed.expiresAtMs !== 'number') return null;
        return parsed.expiresAtMs - REUSE_MARGIN_MS > now ? parsed.accessToken : null;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return null;
    }
  }

  /** Keeps a token that expires `expiresInS` seconds after `now`. */
  put(accessToken: string, expiresInS: number, now: number): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      // An existing folder keeps whatever mode it had: make it private before a token goes in.
      if (!isOwnerOnly(fs.statSync(this.dir).mode)) fs.chmodSync(this.dir, 0o700);
      const entry: CachedToken = { accessToken, expiresAtMs: now + expiresInS * 1000 };
      writeSecretFile(this.file, JSON.stringify(entry) + '\n');
    } catch {
      // Without a cache the next run makes its own grant.
    }
  }

  /** Forgets the token (the collector refused it: revoked, expired early, or the client changed). */
  drop(): void {
    try {
      fs.rmSync(this.file, { force: true });
    } catch {
      // Nothing to keep consistent: a stale file is refused and dropped again.
    }
  }
}
