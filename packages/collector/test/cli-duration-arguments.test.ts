/**
 * Duration arguments (`ximp store retention set DURATION`, `ximp metrics query --since`) are
 * checked while the command line is parsed: a malformed or zero one is a usage error with the
 * command's usage; other problems are reported after the other argument errors are clear.
 */
import t from 'tap';
import { CliError } from '../dist/cli/cli-error';
import { parseArgs } from '../dist/cli/parse-args';

function usageOf(argv: string[]): CliError {
  try {
    parseArgs(argv);
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

t.test('store retention: no word, get and set DURATION', async (t) => {
  for (const argv of [['store', 'retention'], ['store', 'retention', 'get']]) {
    const parsed = parseArgs(argv);
    t.equal(parsed.kind === 'run' && parsed.command.path.join(' '), argv.join(' '));
  }
  const set = parseArgs(['store', 'retention', 'set', '1h30m']);
  t.same(set.kind === 'run' && set.positionals, ['1h30m']);
  for (const bad of ['30 days', '1.5d', '0', '30D', '1d-1h']) {
    const err = usageOf(['store', 'retention', 'set', bad]);
    t.equal(err.exitCode, 2, bad);
    t.equal(err.message, `DURATION: expected a duration like 30d, 12h or 1h30m (got "${bad}")`);
    t.match(err.usage, /^Usage: ximp store retention set DURATION \[flags\]\n/);
  }
  t.match(usageOf(['store', 'retention', 'set']).message, /^missing argument DURATION$/, 'a missing value is said once, not also as malformed');
});

t.test('metrics query --since', async (t) => {
  const ok = parseArgs(['metrics', 'query', '--node', 'web-1', '--metric', 'up', '--since', '6h']);
  t.same(ok.kind === 'run' && ok.flags.since, '6h');
  const noSince = parseArgs(['metrics', 'query', '--node', 'web-1', '--metric', 'up']);
  t.equal(noSince.kind === 'run' && noSince.flags.since, undefined);
  const err = usageOf(['metrics', 'query', '--node', 'web-1', '--metric', 'up', '--since', 'an hour']);
  t.equal(err.message, '--since: expected a duration like 30d, 12h or 1h30m (got "an hour")');
  t.match(err.usage, /^Usage: ximp metrics query --node NODE --metric NAME \[--since DURATION\] \[flags\]\n[\s\S]*LAST-VALUE, LAST-TIME and POINTS/);
  t.equal(usageOf(['metrics', 'query', '--since', 'x']).message, 'missing required flag --node; missing required flag --metric');
});
