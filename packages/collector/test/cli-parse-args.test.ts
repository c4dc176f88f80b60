import t, { type Test } from 'tap';
import { parseArgs } from '../dist/cli/parse-args';
import { CliError } from '../dist/cli/cli-error';

function usageError(t: Test, argv: string[], pattern: RegExp): void {
  try {
    parseArgs(argv);
    t.fail(`expected a usage error for ${argv.join(' ')}`);
  } catch (err) {
    t.ok(err instanceof CliError, argv.join(' '));
    t.equal((err as CliError).exitCode, 2, `${argv.join(' ')} exits 2`);
    t.match((err as CliError).message, pattern);
    t.match((err as CliError).usage ?? '', /^Usage: ximp/);
  }
}

t.test('commands, flags and positionals', async (t) => {
  const create = parseArgs(['agent', 'token', 'create', '--node', 'web-1', '--expires=90d']);
  t.equal(create.kind, 'run');
  if (create.kind !== 'run') return;
  t.same(create.command.path, ['agent', 'token', 'create']);
  t.same({ ...create.flags }, { node: 'web-1', expires: '90d' });
  t.same(create.positionals, []);

  // Global flags anywhere, even before the command words.
  const list = parseArgs(['--output', 'json', 'agent', 'list', '--server=https://c:4494']);
  t.equal(list.kind, 'run');
  if (list.kind === 'run') {
    t.same(list.command.path, ['agent', 'list']);
    t.same({ ...list.flags }, { output: 'json', server: 'https://c:4494' });
  }

  const revoke = parseArgs(['agent', 'token', 'revoke', 'abcdefabcdef']);
  t.equal(revoke.kind === 'run' && revoke.positionals[0], 'abcdefabcdef');
  // TOKEN_ID repeats: several tokens revoked at once.
  const several = parseArgs(['agent', 'token', 'revoke', 'abcdefabcdef', 'bcdefabcdefa', 'cdefabcdefab']);
  t.same(several.kind === 'run' && several.positionals, ['abcdefabcdef', 'bcdefabcdefa', 'cdefabcdefab']);
  const revokeHelp = parseArgs(['agent', 'token', 'revoke', '--help']);
  t.match(revokeHelp.kind === 'help' && revokeHelp.text, /^Usage: ximp agent token revoke TOKEN_ID \[TOKEN_ID \.\.\.\] \[flags\]/);

  // `--` ends flags, so an argument may start with a dash.
  const dash = parseArgs(['client', 'revoke', '--', '-weird']);
  t.equal(dash.kind === 'run' && dash.positionals[0], '-weird');
});

t.test('help and version', async (t) => {
  const general = parseArgs(['--help']);
  t.equal(general.kind, 'help');
  if (general.kind === 'help') {
    t.match(general.text, /agent token create/);
    t.match(general.text, /client list/);
  }
  const one = parseArgs(['agent', 'token', 'create', '--help']);
  t.equal(one.kind, 'help');
  if (one.kind === 'help') {
    t.match(one.text, /^Usage: ximp agent token create --node NODE \[--expires DURATION\]/);
    t.notMatch(one.text, /client list/);
  }
  const group = parseArgs(['agent', '-h']);
  if (group.kind === 'help') {
    t.match(group.text, /agent list/);
    t.notMatch(group.text, /client create/);
  } else t.fail('expected help');
  // --help wins over errors elsewhere on the line.
  t.equal(parseArgs(['agent', 'token', 'create', '--bogus', '--help']).kind, 'help');
  t.equal(parseArgs(['--version']).kind, 'version');
  t.equal(parseArgs(['agent', 'list', '--version']).kind, 'version');
});

t.test('usage errors exit 2', async (t) => {
  usageError(t, [], /missing command/);
  usageError(t, ['agent'], /missing command after "agent"/);
  usageError(t, ['agent', 'token'], /missing command after "agent token"/);
  usageError(t, ['agent', 'tokens', 'list'], /unknown command "agent tokens"/);
  usageError(t, ['frobnicate'], /unknown command "frobnicate"/);
  usageError(t, ['agent', 'list', '--nod', 'x'], /unknown flag "--nod"/);
  usageError(t, ['agent', 'list', '-n', 'x'], /unknown flag "-n"/);
  usageError(t, ['agent', 'token', 'create'], /missing required flag --node/);
  usageError(t, ['agent', 'token', 'create', '--node'], /--node needs a value/);
  usageError(t, ['agent', 'token', 'create', '--node='], /--node needs a value/);
  usageError(t, ['agent', 'token', 'create', '--node', 'a', '--node', 'b'], /more than once/);
  usageError(t, ['agent', 'token', 'revoke'], /missing argument TOKEN_ID/);
  usageError(t, ['client', 'revoke', 'a', 'b'], /unexpected argument "b"/);
  usageError(t, ['agent', 'list', '--output', 'yaml'], /--output must be one of table, json/);
  usageError(t, ['client', 'list', '--node', 'x'], /--node does not apply/);
  usageError(t, ['client', 'create', '--name', 'x'], /missing required flag --role/);
  usageError(t, ['agent', 'list', '--help=yes'], /takes no value/);
});
