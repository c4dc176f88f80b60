import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { makePrivateDir } from '@ximp/shared';
import type { CollectorConfig } from '../config';
import { writeCliConfig } from '../cli-config-writer';
import { PkiStore } from './pki-store';
import { defaultSubjectAltNames } from './subject-alt-names';

export { defaultCliConfigPath } from '../cli-config-writer';

export interface InitOptions {
  config: CollectorConfig;
  /** Every `--hostname`, in order; the first one names the server in the CLI config. */
  hostnames: string[];
  cliConfigPath: string;
  /** Creates the first monitoring-admin API client and returns its credentials (shown once). */
  createAdminClient: (name: string) => { clientId: string; clientSecret: string };
  /** For tests: the clock and the machine's host name. */
  now?: number;
  machineHostname?: string;
}

export interface InitResult {
  caFile: string;
  cliConfigPath: string;
  server: string;
  clientId: string;
}

/**
 * `ximp-collector init`: creates data_dir (0700), the CA and the managed certificates, the first
 * admin API client, and a ready CLI config (0600). Refuses with XIMP_ERR_PKI_EXISTS, changing
 * nothing, when any managed certificate or key already exists.
 *
 * The steps run in an order that keeps a failed run re-runnable: check, client, CLI config, and
 * the PKI last (which removes its own partial files on failure).
 */
export function runInit(options: InitOptions): InitResult {
  const { config, hostnames } = options;
  const dataDir = path.resolve(config.dataDir);
  const sans = defaultSubjectAltNames(hostnames, options.machineHostname);
  const pki = new PkiStore(dataDir, options.machineHostname);
  pki.assertAbsent();

  if (!fs.existsSync(dataDir)) makePrivateDir(dataDir);
  const caFile = pki.paths('ca').cert;
  const server = serverUrl(hostnames[0] ?? 'localhost', config.listen.api.port);
  const client = options.createAdminClient('admin');
  const cliConfigPath = path.resolve(options.cliConfigPath);
  writeCliConfig(cliConfigPath, { server, caFile, clientId: client.clientId, clientSecret: client.clientSecret });
  pki.create(sans, options.now);
  return { caFile, cliConfigPath, server, clientId: client.clientId };
}

/** `https://host:port`, with an IPv6 host in brackets. */
export function serverUrl(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return `https://${net.isIPv6(bare) ? `[${bare}]` : bare.toLowerCase()}:${port}`;
}
