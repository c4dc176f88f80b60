import { ConfigError, createLogger, runtimeVersion, serveUntilSignalled, XimpError } from '@ximp/shared';
import { Agent } from './agent';
import { DEFAULT_AGENT_CONFIG_PATH, loadAgentConfig, type AgentConfig } from './config';
import { AGENT_VERSION } from './version';

const EX_CONFIG = 78;

const USAGE = `Usage: ximp-agent [--config FILE]          run the agent
       ximp-agent check-config [--config FILE]  validate the configuration and exit
       ximp-agent --help | --version

The config file defaults to ${DEFAULT_AGENT_CONFIG_PATH} (env XIMP_AGENT_CONFIG).
Exit status: 0 stopped cleanly, 1 runtime failure, 2 usage error, 78 bad configuration.
Signals: SIGHUP re-reads the configuration, SIGTERM flushes and exits.`;

interface Args {
  command: 'run' | 'check-config' | 'help' | 'version';
  config: string;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args | string {
  let command: Args['command'] = 'run';
  let config = env.XIMP_AGENT_CONFIG || DEFAULT_AGENT_CONFIG_PATH;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') command = 'help';
    else if (arg === '--version') command = 'version';
    else if (arg === 'check-config' && i === 0) command = 'check-config';
    else if (arg === '--config') {
      const value = argv[++i];
      if (!value) return '--config needs a file';
      config = value;
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else return `unknown argument "${arg}"`;
  }
  return { command, config };
}

function load(file: string): AgentConfig | number {
  try {
    return loadAgentConfig(file);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof XimpError) {
      process.stderr.write(`${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
}

/** The ximp-agent command. Returns the exit status; only this file decides it. */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, process.env);
  if (typeof args === 'string') {
    process.stderr.write(`ximp-agent: ${args}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.command === 'version') {
    process.stdout.write(`ximp-agent ${AGENT_VERSION} (${runtimeVersion()})\n`);
    return 0;
  }
  const config = load(args.config);
  if (typeof config === 'number') return config;
  if (args.command === 'check-config') {
    for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
    process.stdout.write(`${args.config}: ok\n`);
    return 0;
  }

  const log = createLogger({ name: 'ximp-agent', level: config.log.level });
  const agent = new Agent(config, { log });
  // Registered before start: Node's default for SIGHUP is to exit.
  process.on('SIGHUP', () => {
    try {
      agent.reload(loadAgentConfig(args.config));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload failed, keeping the running configuration');
    }
  });
  const code = await serveUntilSignalled(agent, log, 'agent');
  log.flush();
  return code;
}
