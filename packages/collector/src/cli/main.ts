import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runtimeVersion } from '@ximp/shared';
import { agentList } from './agent-commands';
import { agentTokenCreate, agentTokenList, agentTokenRevoke } from './agent-token-commands';
import { alertChannelCreate, alertChannelDelete, alertChannelList, alertChannelTest, alertChannelUpdate } from './alert-channel-commands';
import { alertHistory, alertList } from './alert-commands';
import { alertRuleCreate, alertRuleDelete, alertRuleList, alertRuleShow, alertRuleUpdate } from './alert-rule-commands';
import { ApiConnection } from './api-connection';
import { auditList } from './audit-commands';
import { dashboardList } from './dashboard-commands';
import { loadCliConfig } from './cli-config';
import { CliError } from './cli-error';
import { clientCreate, clientList, clientRevoke, clientRotateSecret } from './client-commands';
import type { CommandRun, OutputFormat } from './command-context';
import { ExitCodes } from './exit-codes';
import { metricsQuery } from './metrics-commands';
import { parseArgs } from './parse-args';
import { storeRetentionGet, storeRetentionSet } from './store-commands';
import { terminalText } from './terminal-text';
import { tlsRenew, tlsStatus } from './tls-commands';
import { TokenCache, tokenCacheDir } from './token-cache';
import { userCreate, userDisable, userList, userResetPassword } from './user-commands';

/** Where the CLI talks to the world; tests pass their own to capture output and set the environment. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
  now(): number;
}

const RUNS: Readonly<Record<string, CommandRun>> = {
  'agent token create': agentTokenCreate,
  'agent token list': agentTokenList,
  'agent token revoke': agentTokenRevoke,
  'agent list': agentList,
  'client create': clientCreate,
  'client list': clientList,
  'client revoke': clientRevoke,
  'client rotate-secret': clientRotateSecret,
  'tls status': tlsStatus,
  'tls renew': tlsRenew,
  'store retention': storeRetentionGet,
  'store retention get': storeRetentionGet,
  'store retention set': storeRetentionSet,
  'metrics query': metricsQuery,
  'alert rule create': alertRuleCreate,
  'alert rule list': alertRuleList,
  'alert rule show': alertRuleShow,
  'alert rule update': alertRuleUpdate,
  'alert rule delete': alertRuleDelete,
  'alert channel create': alertChannelCreate,
  'alert channel list': alertChannelList,
  'alert channel test': alertChannelTest,
  'alert channel update': alertChannelUpdate,
  'alert channel delete': alertChannelDelete,
  'alert list': alertList,
  'alert history': alertHistory,
  'audit list': auditList,
  'user create': userCreate,
  'user list': userList,
  'user disable': userDisable,
  'user reset-password': userResetPassword,
  'dashboard list': dashboardList,
};

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function readCa(file: string | null): Buffer | null {
  if (file === null) return null;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(ExitCodes.CONFIG, `ca_file: cannot read ${file} (${code})`);
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout(parsed.text);
    return ExitCodes.OK;
  }
  if (parsed.kind === 'version') {
    io.stdout(`ximp ${version()} (${runtimeVersion()})\n`);
    return ExitCodes.OK;
  }
  const config = loadCliConfig({
    configFlag: parsed.flags.config,
    serverFlag: parsed.flags.server,
    env: io.env,
    homeDir: io.homeDir,
  });
  for (const warning of config.warnings) io.stderr(`ximp: warning: ${warning}\n`);
  const api = new ApiConnection({
    server: config.server,
    ca: readCa(config.caFile),
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    tokenCache: new TokenCache(tokenCacheDir(io.env, io.homeDir), config.server, config.clientId),
    now: io.now,
  });
  await RUNS[parsed.command.path.join(' ')]({
    api,
    flags: parsed.flags,
    positionals: parsed.positionals,
    output: (parsed.flags.output ?? 'table') as OutputFormat,
    out: io.stdout,
    err: io.stderr,
    now: io.now,
  });
  return ExitCodes.OK;
}

/**
 * The `ximp` command. Resolves to the exit status and never rejects; the launcher (bin/ximp.js)
 * sets it on the process, so output is flushed before the process ends.
 */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = {
    stdout: io.stdout ?? ((text) => void process.stdout.write(text)),
    stderr: io.stderr ?? ((text) => void process.stderr.write(text)),
    env: io.env ?? process.env,
    homeDir: io.homeDir ?? os.homedir(),
    now: io.now ?? Date.now,
  };
  try {
    return await run(argv, full);
  } catch (err) {
    if (err instanceof CliError) {
      // Messages can quote the collector's answer: escaped like table cells.
      full.stderr(`ximp: ${terminalText(err.message)}${err.code === null ? '' : ` [${err.code}]`}\n`);
      if (err.usage !== null) full.stderr(`\n${err.usage}`);
      return err.exitCode;
    }
    full.stderr(`ximp: unexpected failure: ${terminalText(err instanceof Error ? err.message : String(err))}\n`);
    return ExitCodes.FAILED;
  }
}
