import * as fs from 'node:fs';
import { ConfigError, createLogger, ErrorCodes, runtimeVersion, serveUntilSignalled, XimpError } from '@ximp/shared';
import { Collector } from './collector';
import { DEFAULT_COLLECTOR_CONFIG_PATH, loadCollectorConfig, type CollectorConfig } from './config';
import { defaultCliConfigPath, runInit } from './pki/init-command';
import { COLLECTOR_VERSION } from './version';

const EX_CONFIG = 78;

const USAGE = `Usage: ximp-collector [--config FILE]                        run the collector
       ximp-collector init [--config FILE] [--hostname NAME ...]  create the CA, certificates,
                                                          a first admin API client and the CLI config
       ximp-collector check-config [--config FILE]           validate the configuration and exit
       ximp-collector --help | --version

The config file defaults to ${DEFAULT_COLLECTOR_CONFIG_PATH} (env XIMP_COLLECTOR_CONFIG); when that
default file does not exist, the built-in defaults apply. init writes the CLI config to
$XIMP_CLI_CONFIG, else ~/.config/ximp/cli.yaml.
Exit status: 0 done, 1 failure, 2 usage error, 78 bad configuration.`;

interface Args {
  command: 'run' | 'init' | 'check-config' | 'help' | 'version';
  config: string | null;
  explicitConfig: boolean;
  hostnames: string[];
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args | string {
  const args: Args = { command: 'run', config: null, explicitConfig: false, hostnames: [] };
  const fromEnv = env.XIMP_COLLECTOR_CONFIG;
  if (fromEnv) {
    args.config = fromEnv;
    args.explicitConfig = true;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') args.command = 'help';
    else if (arg === '--version') args.command = 'version';
    else if (i === 0 && (arg === 'init' || arg === 'check-config' || arg === 'run')) args.command = arg;
    else if (arg === '--config' || arg === '--hostname') {
      const value = argv[++i];
      if (!value) return `${arg} needs a value`;
      if (arg === '--config') {
        args.config = value;
        args.explicitConfig = true;
      } else if (args.command !== 'init') return '--hostname belongs to init';
      else args.hostnames.push(value);
    } else return `unknown argument "${arg}"`;
  }
  if (!args.explicitConfig) args.config = fs.existsSync(DEFAULT_COLLECTOR_CONFIG_PATH) ? DEFAULT_COLLECTOR_CONFIG_PATH : null;
  return args;
}

function load(file: string | null): CollectorConfig | number {
  try {
    return loadCollectorConfig(file);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof XimpError) {
      process.stderr.write(`${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
}

function init(config: CollectorConfig, hostnames: string[]): number {
  try {
    const result = runInit({ config, hostnames, cliConfigPath: defaultCliConfigPath() });
    process.stdout.write(
      [
        `created the CA:          ${result.caFile}`,
        `created an admin client: ${result.clientId} (role monitoring-admin)`,
        `wrote the CLI config:    ${result.cliConfigPath} (mode 0600, holds the client secret)`,
        `the API will answer at:  ${result.server}`,
        'next: start the collector, then create a token for each node with',
        '  ximp agent token create --node NODE',
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    if (err instanceof XimpError && err.code === ErrorCodes.CLI_USAGE) {
      process.stderr.write(`ximp-collector init: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof XimpError && (err.code === ErrorCodes.PKI_EXISTS || err.code === ErrorCodes.CLI_CONFIG_EXISTS)) {
      process.stderr.write(`ximp-collector init: ${err.message}; nothing was changed\n`);
      return 1;
    }
    process.stderr.write(`ximp-collector init failed: ${(err as Error).message}; what it had created is removed\n`);
    return 1;
  }
}

/** The ximp-collector command. Returns the exit status; only this file decides it. */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, process.env);
  if (typeof args === 'string') {
    process.stderr.write(`ximp-collector: ${args}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.command === 'version') {
    process.stdout.write(`ximp-collector ${COLLECTOR_VERSION} (${runtimeVersion()})\n`);
    return 0;
  }
  const config = load(args.config);
  if (typeof config === 'number') return config;
  if (args.command === 'check-config') {
    process.stdout.write(`${args.config ?? '(built-in defaults)'}: ok\n`);
    return 0;
  }
  if (args.command === 'init') return init(config, args.hostnames);

  const log = createLogger({ name: 'ximp-collector', level: config.log.level });
  const collector = new Collector(config, { log });
  // Registered before start: Node's default for SIGHUP is to exit.
  process.on('SIGHUP', () => collector.reloadCertificates());
  const code = await serveUntilSignalled(collector, log, 'collector');
  if (code !== 0) process.stderr.write('ximp-collector: failed, see the log above\n');
  return code;
}
