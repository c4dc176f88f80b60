import t from 'tap';
import { parseNodeGlob } from '../src/node-glob';

t.test('* and ? match runs and single characters; a dot is only a dot', async (t) => {
  const glob = parseNodeGlob('web-*')!;
  t.ok(glob.matches('web-1'));
  t.ok(glob.matches('web-'));
  t.notOk(glob.matches('xweb-1'), 'anchored at the start');
  t.notOk(glob.matches('db-1'));
  const one = parseNodeGlob('db-0?')!;
  t.ok(one.matches('db-01'));
  t.notOk(one.matches('db-0'));
  t.notOk(one.matches('db-012'), 'anchored at the end');
  const dotted = parseNodeGlob('a.b')!;
  t.ok(dotted.matches('a.b'));
  t.notOk(dotted.matches('axb'), 'a dot is not a wildcard');
  t.ok(parseNodeGlob('*')!.matches('anything.example.net'));
});

t.test('several globs separated by commas, normalised', async (t) => {
  const glob = parseNodeGlob(' web-* , db-1,web-*')!;
  t.equal(glob.text, 'web-*,db-1');
  t.ok(glob.matches('db-1'));
  t.ok(glob.matches('web-9'));
  t.notOk(glob.matches('db-2'));
});

t.test('what is not a glob of node names is refused', async (t) => {
  for (const bad of ['', ',', 'web-*,', 'Web-*', 'web_1', '-web', 'web/1', '.*', 'a'.repeat(254), '(a|b)']) {
    t.equal(parseNodeGlob(bad), null, JSON.stringify(bad.slice(0, 20)));
  }
});
