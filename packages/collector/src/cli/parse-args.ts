import { COMMANDS, GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './command-spec';
import { CliError } from './cli-error';
import { ExitCodes } from './exit-codes';
import { commandUsage, generalUsage } from './usage';

/** What the command line asks for. Pure: no I/O, so every rule is unit-tested. */
export type ParsedArgs =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | {
      kind: 'run';
      command: CommandSpec;
      /** Flag values by name; boolean flags are absent or "true". */
      flags: Readonly<Record<string, string>>;
      positionals: readonly string[];
    };

/** Every flag name any command knows, so a flag before the command words still parses. */
function knownFlags(commands: readonly CommandSpec[]): Map<string, FlagSpec> {
  const map = new Map<string, FlagSpec>();
  for (const flag of GLOBAL_FLAGS) map.set(flag.name, flag);
  for (const command of commands) for (const flag of command.flags) if (!map.has(flag.name)) map.set(flag.name, flag);
  return map;
}

function usageError(message: string, usage: string): CliError {
  return new CliError(ExitCodes.USAGE, message, { usage });
}

/** The command whose words start `words` (longest first); null when none does. */
function findCommand(words: readonly string[], commands: readonly CommandSpec[]): CommandSpec | null {
  let best: CommandSpec | null = null;
  for (const command of commands) {
    if (command.path.length <= words.length && command.path.every((word, i) => words[i] === word)) {
      if (best === null || command.path.length > best.path.length) best = command;
    }
  }
  return best;
}

/** The longest prefix of `words` that some command starts with (a command group such as `agent token`). */
function groupPrefix(words: readonly string[], commands: readonly CommandSpec[]): string[] {
  const prefix: string[] = [];
  for (const word of words) {
    const candidate = [...prefix, word];
    if (!commands.some((c) => candidate.every((w, i) => c.path[i] === w))) break;
    prefix.push(word);
  }
  return prefix;
}

/**
 * Parses `ximp` arguments (without the program name). Throws CliError with exit status 2 and
 * the relevant usage for unknown commands or flags, missing values and missing arguments.
 * `--help` wins over everything else; `--version` over everything but `--help`.
 */
export function parseArgs(argv: readonly string[], commands: readonly CommandSpec[] = COMMANDS): ParsedArgs {
  const known = knownFlags(commands);
  const words: string[] = [];
  const flags: Record<string, string> = Object.create(null) as Record<string, string>;
  const errors: string[] = [];
  let help = false;
  let onlyWords = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyWords || !arg.startsWith('-') || arg === '-') {
      words.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyWords = true;
      continue;
    }
    if (arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      errors.push(`unknown flag "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = known.get(name);
    if (spec === undefined) {
      errors.push(`unknown flag "--${name}"`);
      continue;
    }
    let value: string;
    if (!spec.value) {
      if (eq !== -1) {
        errors.push(`flag --${name} takes no value`);
        continue;
      }
      if (name === 'help') {
        help = true;
        continue;
      }
      value = 'true';
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else if (i + 1 < argv.length) {
      value = argv[++i];
    } else {
      errors.push(`flag --${name} needs a value`);
      continue;
    }
    if (spec.value && value === '') {
      errors.push(`flag --${name} needs a value`);
      continue;
    }
    if (name in flags) {
      errors.push(`flag --${name} given more than once`);
      continue;
    }
    flags[name] = value;
  }

  const command = findCommand(words, commands);
  if (help) {
    return { kind: 'help', text: command !== null ? commandUsage(command) : generalUsage(groupPrefix(words, commands)) };
  }
  if ('version' in flags) return { kind: 'version' };

  if (command === null) {
    const prefix = groupPrefix(words, commands);
    const usage = generalUsage(prefix);
    if (words.length === 0) throw usageError('missing command', usage);
    if (prefix.length === words.length) throw usageError(`missing command after "${prefix.join(' ')}"`, usage);
    throw usageError(`unknown command "${[...prefix, words[prefix.length]].join(' ')}"`, usage);
  }

  const usage = commandUsage(command);
  const allowed = new Set([...GLOBAL_FLAGS, ...command.flags].map((f) => f.name));
  for (const name of Object.keys(flags)) {
    if (!allowed.has(name)) errors.push(`flag --${name} does not apply to "ximp ${command.path.join(' ')}"`);
  }
  for (const flag of [...GLOBAL_FLAGS, ...command.flags]) {
    const value = flags[flag.name];
    if (flag.required === true && value === undefined) errors.push(`missing required flag --${flag.name}`);
    if (value !== undefined && flag.choices !== undefined && !flag.choices.includes(value)) {
      errors.push(`flag --${flag.name} must be one of ${flag.choices.join(', ')} (got "${value}")`);
    }
  }
  const positionals = words.slice(command.path.length);
  if (positionals.length < command.positionals.length) {
    errors.push(`missing argument ${command.positionals.slice(positionals.length).map((p) => p.name).join(' ')}`);
  } else if (positionals.length > command.positionals.length && command.positionals.at(-1)?.repeatable !== true) {
    errors.push(`unexpected argument "${positionals[command.positionals.length]}"`);
  }
  if (errors.length === 0 && command.check !== undefined) {
    for (const problem of command.check(flags, positionals)) if (problem !== null) errors.push(problem);
  }
  if (errors.length > 0) throw usageError(errors.join('; '), usage);
  return { kind: 'run', command, flags, positionals };
}
