import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ErrorCodes, makePrivateDir, XimpError } from '@ximp/shared';
import { SECRETS_KEY_FILE } from '../alerting/alerting';
import { SecretBox } from '../alerting/secret-box';
import { createAdminClientIn, removeAdminClientIn } from '../auth/first-admin-client';
import type { CollectorConfig } from '../config';
import { writeCliConfig } from '../cli-config-writer';
import { PKI_COMPONENTS } from './components';
import { PkiStore } from './pki-store';
import { defaultSubjectAltNames } from './subject-alt-names';

export { defaultCliConfigPath } from '../cli-config-writer';

export interface InitOptions {
  config: CollectorConfig;
  /** Every `--hostname`, in order; the first one names the server in the CLI config. */
  hostnames: string[];
  cliConfigPath: string;
  /** Creates the first monitoring-admin API client and returns its credentials (shown once). */
  createAdminClient?: (name: string) => { clientId: string; clientSecret: string };
  /** Undoes `createAdminClient` when the step after it fails. */
  removeAdminClient?: (clientId: string) => void;
  /** For tests: the clock, the machine's host name, and a fault injected as a step begins. */
  now?: number;
  machineHostname?: string;
  faultAt?: (step: InitStep) => void;
}

/** The steps of init that change something, in the order they run. */
export type InitStep = 'pki' | 'secrets-key' | 'admin-client' | 'cli-config';

export interface InitResult {
  caFile: string;
  cliConfigPath: string;
  server: string;
  clientId: string;
}

/**
 * `ximp-collector init`: creates data_dir (0700), the CA and the managed certificates, the key
 * that seals channel secrets (`secrets.key`, 0600), the first admin API client, and a ready CLI
 * config (0600).
 *
 * Everything that would refuse is checked before anything is created: a bad `--hostname`
 * (XIMP_ERR_CLI_USAGE), an existing certificate or key (XIMP_ERR_PKI_EXISTS), an existing CLI
 * config (XIMP_ERR_CLI_CONFIG_EXISTS), an existing secrets key that cannot be used
 * (XIMP_ERR_SECRET_KEY; a usable one is kept, since channel secrets may be sealed under it). Then
 * the PKI, the secrets key, the admin client and the CLI config are
 * created in that order; when a step fails, the earlier ones are undone (PKI files and the
 * folders init made removed, the client deleted), so nothing is left that would make the next
 * init refuse, and no admin client exists whose secret nobody was given.
 */
export function runInit(options: InitOptions): InitResult {
  const { config, hostnames } = options;
  const dataDir = path.resolve(config.dataDir);
  const cliConfigPath = path.resolve(options.cliConfigPath);
  const sans = defaultSubjectAltNames(hostnames, options.machineHostname);
  const pki = new PkiStore(dataDir, options.machineHostname);
  pki.assertAbsent();
  if (pathExists(cliConfigPath)) {
    throw new XimpError(ErrorCodes.CLI_CONFIG_EXISTS, `${cliConfigPath} already exists; refusing to overwrite the CLI config`);
  }
  const createAdminClient = options.createAdminClient ?? ((name: string) => createAdminClientIn(dataDir, name));
  const removeAdminClient = options.removeAdminClient ?? ((id: string) => removeAdminClientIn(dataDir, id));
  const fault = options.faultAt ?? (() => undefined);
  const secretsKey = path.join(dataDir, SECRETS_KEY_FILE);
  const keyExisted = pathExists(secretsKey);
  if (keyExisted) SecretBox.openOrCreate(secretsKey);

  const undo: Array<() => void> = [];
  try {
    fault('pki');
    undo.push(removeCreatedDirs(dataDir, path.join(dataDir, 'pki')));
    if (!fs.existsSync(dataDir)) makePrivateDir(dataDir);
    pki.create(sans, options.now, config.tls.leafValidityMs);
    undo.push(() => {
      for (const component of PKI_COMPONENTS) {
        const { cert, key } = pki.paths(component);
        fs.rmSync(cert, { force: true });
        fs.rmSync(key, { force: true });
      }
    });

    fault('secrets-key');
    SecretBox.openOrCreate(secretsKey);
    if (!keyExisted) undo.push(() => fs.rmSync(secretsKey, { force: true }));

    fault('admin-client');
    const client = createAdminClient('admin');
    undo.push(() => removeAdminClient(client.clientId));

    fault('cli-config');
    undo.push(removeCreatedDirs(path.dirname(cliConfigPath)));
    const caFile = pki.paths('ca').cert;
    const server = serverUrl(hostnames[0] ?? 'localhost', config.listen.api.port);
    writeCliConfig(cliConfigPath, { server, caFile, clientId: client.clientId, clientSecret: client.clientSecret }, { exclusive: true });
    return { caFile, cliConfigPath, server, clientId: client.clientId };
  } catch (err) {
    const leftovers: string[] = [];
    for (const step of undo.reverse()) {
      try {
        step();
      } catch (cleanupErr) {
        leftovers.push((cleanupErr as Error).message);
      }
    }
    if (leftovers.length > 0 && err instanceof Error) {
      err.message += `; undoing the earlier steps failed too (${leftovers.join('; ')}), remove what init created by hand`;
    }
    throw err;
  }
}

/** True for anything at `file`, a dangling symlink included. */
function pathExists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** An undo step that removes those of `dirs` (innermost last in the list) that do not exist yet, once empty. */
function removeCreatedDirs(...dirs: string[]): () => void {
  const created: string[] = [];
  for (const dir of dirs) {
    // Every missing ancestor up to the first that exists.
    for (let d = dir; !fs.existsSync(d) && !created.includes(d); d = path.dirname(d)) created.push(d);
  }
  created.sort((a, b) => b.length - a.length);
  return () => {
    for (const dir of created) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // not empty (something else was put there) or already gone: leave it
      }
    }
  };
}

/** `https://host:port`, with an IPv6 host in brackets. */
export function serverUrl(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return `https://${net.isIPv6(bare) ? `[${bare}]` : bare.toLowerCase()}:${port}`;
}
