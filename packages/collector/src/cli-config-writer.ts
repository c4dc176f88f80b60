import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makePrivateDir, writeSecretFile } from '@ximp/shared';

/** The keys of the `ximp` CLI config (SPEC §2). */
export interface CliConfig {
  server: string;
  caFile: string;
  clientId: string;
  clientSecret: string;
}

/** `$XIMP_CLI_CONFIG`, else `~/.config/ximp/cli.yaml`. */
export function defaultCliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XIMP_CLI_CONFIG) return path.resolve(env.XIMP_CLI_CONFIG);
  const home = env.HOME || os.homedir();
  return path.join(home, '.config', 'ximp', 'cli.yaml');
}

/** The YAML text of a CLI config. Values are JSON strings, which YAML reads as quoted scalars. */
export function formatCliConfig(config: CliConfig): string {
  return [
    '# ximp admin CLI config, written by `ximp-collector init`. It holds a client secret: keep it 0600.',
    `server: ${JSON.stringify(config.server)}`,
    `ca_file: ${JSON.stringify(config.caFile)}`,
    `client_id: ${JSON.stringify(config.clientId)}`,
    `client_secret: ${JSON.stringify(config.clientSecret)}`,
    '',
  ].join('\n');
}

/**
 * Writes the CLI config with mode 0600 (atomically). A missing folder is created 0700; an existing
 * one is left as it is (it may be a shared folder such as a repository checkout). With `exclusive`
 * an existing file is never replaced (EEXIST).
 */
export function writeCliConfig(file: string, config: CliConfig, options: { exclusive?: boolean } = {}): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) makePrivateDir(dir);
  writeSecretFile(file, formatCliConfig(config), { exclusive: options.exclusive === true });
}
