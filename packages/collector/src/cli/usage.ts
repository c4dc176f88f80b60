import { COMMANDS, GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './command-spec';

function flagLine(flag: FlagSpec): [string, string] {
  return [flag.value ? `--${flag.name} ${flag.metavar ?? 'VALUE'}` : `--${flag.name}`, flag.description];
}

function columns(rows: ReadonlyArray<[string, string]>): string {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}\n`).join('');
}

function synopsis(command: CommandSpec): string {
  const flags = command.flags.map((f) => {
    const text = f.value ? `--${f.name} ${f.metavar ?? 'VALUE'}` : `--${f.name}`;
    return f.required ? text : `[${text}]`;
  });
  return ['ximp', ...command.path, ...command.positionals.map((p) => (p.repeatable ? `${p.name} [${p.name} ...]` : p.name)), ...flags].join(' ');
}

/** The overview `ximp --help` prints; with a prefix (`agent`), only the commands under it. */
export function generalUsage(prefix: readonly string[] = []): string {
  const listed = COMMANDS.filter((c) => prefix.every((word, i) => c.path[i] === word));
  return (
    `Usage: ximp ${prefix.length > 0 ? prefix.join(' ') + ' ' : ''}COMMAND [flags]\n\n` +
    'The XIMP admin CLI: a client of the collector API (OAuth 2.0 client credentials).\n\n' +
    'Commands:\n' +
    columns(listed.map((c) => [c.path.join(' '), c.summary])) +
    '\nFlags of every command:\n' +
    columns(GLOBAL_FLAGS.map(flagLine)) +
    '\nRun "ximp COMMAND --help" for the flags of one command.\n' +
    'Exit status: 0 done, 1 failed, 2 usage error, 3 not authenticated or not allowed, 4 not found,\n' +
    '78 bad CLI config.\n'
  );
}

/** The help of one command. */
export function commandUsage(command: CommandSpec): string {
  let text = `Usage: ${synopsis(command)} [flags]\n\n${command.summary}\n`;
  if (command.details !== undefined) text += `\n${command.details}`;
  if (command.positionals.length > 0) {
    text += '\nArguments:\n' + columns(command.positionals.map((p) => [p.name, p.description]));
  }
  if (command.flags.length > 0) text += '\nFlags:\n' + columns(command.flags.map(flagLine));
  text += '\nFlags of every command:\n' + columns(GLOBAL_FLAGS.map(flagLine));
  return text;
}
