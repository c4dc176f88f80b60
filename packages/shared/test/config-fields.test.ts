import t from 'tap';
import { ErrorCodes } from '../src/errors';
import { ConfigError } from '../src/config/issues';
import { ConfigReader } from '../src/config/fields';
import { parseConfigYaml } from '../src/config/load-yaml';
import { deepFreeze } from '../src/config/deep-freeze';
import { resolveRelativeTo } from '../src/config/relative-path';

function reader(text: string, keys: readonly string[]): ConfigReader {
  return ConfigReader.root(parseConfigYaml(text, '/some/dir/test.yaml'), keys);
}

/** The lines of the one ConfigError the reader throws, or [] when it finds nothing wrong. */
function lines(r: ConfigReader): string[] {
  try {
    r.throwIfIssues();
  } catch (err) {
    if ((err as ConfigError).code !== ErrorCodes.CONFIG_INVALID) throw err;
    return (err as ConfigError).message.split('\n');
  }
  return [];
}

t.test('throwIfIssues throws one ConfigError carrying every issue', async (t) => {
  const ok = reader('a: x\n', ['a']);
  t.doesNotThrow(() => ok.throwIfIssues());
  const strict = reader('a: x\nb: y\n', ['c']);
  let e: ConfigError | undefined;
  try {
    strict.throwIfIssues();
  } catch (err) {
    e = err as ConfigError;
  }
  t.ok(e instanceof ConfigError);
  t.equal(e?.code, ErrorCodes.CONFIG_INVALID);
  t.equal(e?.issues.length, 2);
  t.equal(e?.message.split('\n').length, 2);
  t.ok(Object.isFrozen(e?.issues), 'the issue list cannot change after the fact');
});

t.test('reads typed values and applies nothing itself', async (t) => {
  const r = reader(
    'name: abc\ncount: 3\nwait: 1h30m\nbudget: 64MiB\naddr: "[::1]:4443"\nlist: [a, b]\nmap: { x: "1" }\nsub: { level: info }\nempty:\n',
    ['name', 'count', 'wait', 'budget', 'addr', 'list', 'map', 'sub', 'empty', 'absent'],
  );
  t.equal(r.string('name'), 'abc');
  t.equal(r.integer('count', { min: 1, max: 5 }), 3);
  t.equal(r.duration('wait'), 5_400_000);
  t.equal(r.size('budget'), 64 * 1024 * 1024);
  t.same(r.listenAddress('addr'), { host: '::1', port: 4443 });
  t.same(r.stringList('list', { expected: 'a letter' }), ['a', 'b']);
  t.same({ ...r.stringMap('map', { what: 'thing' }) }, { x: '1' });
  t.equal(r.section('sub', ['level']).oneOf('level', ['info', 'warn']), 'info');
  t.equal(r.string('empty'), undefined, 'null is absent');
  t.equal(r.string('absent'), undefined);
  t.notOk(r.has('empty'));
  t.same(lines(r), []);
});

t.test('every problem is collected with its own line:col, in file order', async (t) => {
  const r = reader(
    [
      'wait: fast', //           1:7
      'count: "3"', //           2:8
      'budget: 64', //           3:9
      'addr: "host:99999"', //   4:7
      'sub: [1]', //             5:6
      'list: [a, 7]', //         6:11
      'bogus: 1', //             7:1
      'nested:',
      '  deeper: { x: 1 }', //   9:13 (unknown key x)
    ].join('\n'),
    ['wait', 'count', 'budget', 'addr', 'sub', 'list', 'nested', 'required'],
  );
  r.duration('wait');
  r.integer('count');
  r.size('budget');
  r.listenAddress('addr');
  r.section('sub', ['a']).string('a', { required: true });
  r.stringList('list', { expected: 'a letter' });
  r.string('required', { required: true });
  r.section('nested', ['deeper']).section('deeper', ['y']);
  t.same(lines(r), [
    'test.yaml:1:1: required: required key is missing',
    'test.yaml:1:7: wait: expected a duration like "10s" (actual: "fast")',
    'test.yaml:2:8: count: expected an integer (actual: "3")',
    'test.yaml:3:9: budget: expected a size like "64MiB" (actual: 64)',
    'test.yaml:4:7: addr: expected a listen address like "0.0.0.0:4443" or "[::1]:4443" (actual: "host:99999")',
    'test.yaml:5:6: sub: expected a mapping (actual: a list)',
    'test.yaml:6:11: list[1]: expected a letter (actual: 7)',
    'test.yaml:7:1: bogus: unknown key (expected one of: wait, count, budget, addr, sub, list, nested, required)',
    'test.yaml:9:13: nested.deeper.x: unknown key (expected one of: y)',
  ]);
});

t.test('a missing key points at its parent mapping', async (t) => {
  const r = reader('top: 1\nserver:\n  port: 1\n', ['top', 'server']);
  r.integer('top');
  const s = r.section('server', ['port', 'url']);
  s.integer('port');
  s.string('url', { required: true });
  t.same(lines(r), ['test.yaml:3:3: server.url: required key is missing']);
});

t.test('ranges are checked with readable bounds', async (t) => {
  const r = reader('a: 500ms\nb: 10KiB\nc: 0\n', ['a', 'b', 'c']);
  r.duration('a', { min: 1000 });
  r.size('b', { min: 1024 * 1024 });
  r.integer('c', { min: 1, max: 10 });
  t.same(lines(r), [
    'test.yaml:1:4: a: expected a duration of at least 1s (actual: "500ms")',
    'test.yaml:2:4: b: expected a size of at least 1MiB (actual: "10KiB")',
    'test.yaml:3:4: c: expected an integer from 1 to 10 (actual: 0)',
  ]);
});

t.test('secret values are never echoed, even with the wrong type', async (t) => {
  const r = reader('token: not-a-real-token-value\nother: 123456789\n', ['token', 'other']);
  r.string('token', { secret: true, check: () => 'a token like "ximp_<id>_<secret>"' });
  r.string('other', { secret: true });
  const out = lines(r).join('\n');
  t.notOk(out.includes('not-a-real-token-value'));
  t.notOk(out.includes('123456789'));
  t.match(out, /token: expected a token like "ximp_<id>_<secret>"$/m);
  t.match(out, /other: expected a string \(actual: a number\)$/m);
});

t.test('the top level must be a mapping; an empty file is one', async (t) => {
  const list = reader('- a\n- b\n', ['x']);
  list.string('x', { required: true });
  t.same(lines(list), ['test.yaml:1:1: expected a mapping at the top level (actual: a list)']);
  const empty = reader('', ['x']);
  t.equal(empty.string('x'), undefined);
  t.same(lines(empty), []);
});

t.test('aliases resolve to their anchors', async (t) => {
  const r = reader('base: &b 10s\nwait: *b\n', ['base', 'wait']);
  t.equal(r.duration('wait'), 10_000);
  t.same(lines(r), []);
});

t.test('string maps and lists report bad entries one by one', async (t) => {
  const r = reader('m: { good: v, 1: x, bad: 2, empty: "" }\nl: [a, a, b]\n', ['m', 'l']);
  const m = r.stringMap('m', { what: 'label', maxEntries: 3, checkValue: (v) => (v === '' ? 'a non-empty value' : null) });
  const l = r.stringList('l', { expected: 'a letter', unique: true });
  t.same({ ...m }, { good: 'v' });
  t.equal(Object.getPrototypeOf(m), null);
  t.same(l, ['a', 'b']);
  t.same(lines(r), [
    'test.yaml:1:4: m: expected at most 3 labels (actual: 4)',
    'test.yaml:1:15: m: label names must be strings (actual: 1)',
    'test.yaml:1:26: m.bad: expected a string; quote it (actual: 2)',
    'test.yaml:1:36: m.empty: expected a non-empty value (actual: "")',
    'test.yaml:2:8: l[1]: duplicate entry (actual: "a")',
  ]);
});

t.test('deepFreeze and resolveRelativeTo', async (t) => {
  const o = deepFreeze({ a: { b: [1, { c: 2 }] } });
  t.ok(Object.isFrozen(o.a.b[1]));
  t.equal(resolveRelativeTo('/etc/ximp/agent.yaml', 'ca.pem'), '/etc/ximp/ca.pem');
  t.equal(resolveRelativeTo('/etc/ximp/agent.yaml', '../x/ca.pem'), '/etc/x/ca.pem');
  t.equal(resolveRelativeTo('/etc/ximp/agent.yaml', '/abs/ca.pem'), '/abs/ca.pem');
});

t.test('boolean: true or false only', async (t) => {
  const r = reader('a: true\nb: false\nc: "true"\nd: yes\ne:\n', ['a', 'b', 'c', 'd', 'e']);
  t.equal(r.boolean('a'), true);
  t.equal(r.boolean('b'), false);
  t.equal(r.boolean('c'), undefined);
  t.equal(r.boolean('d'), undefined, 'YAML 1.2: yes is a string');
  t.equal(r.boolean('e'), undefined, 'empty: the default applies');
  t.same(lines(r), ['test.yaml:3:4: c: expected true or false (actual: "true")', 'test.yaml:4:4: d: expected true or false (actual: "yes")']);
});

t.test('sectionList: one strict reader per mapping, paths key[i]; absent is empty', async (t) => {
  const r = reader('list:\n  - x: 1\n  - y: 2\n  - 3\nnone:\nscalar: 4\n', ['list', 'none', 'scalar']);
  const items = r.sectionList('list', ['x']);
  t.equal(items.length, 3);
  t.equal(items[0].integer('x'), 1);
  t.equal(items[1].path, 'list[1]');
  t.same(r.sectionList('none', ['x']), []);
  t.same(r.sectionList('absent', ['x']), []);
  t.same(r.sectionList('scalar', ['x']), []);
  items[2].reportMissing('x'); // a broken item reports no missing keys
  t.same(lines(r), [
    'test.yaml:3:5: list[1].y: unknown key (expected one of: x)',
    'test.yaml:4:5: list[2]: expected a mapping (actual: 3)',
    'test.yaml:6:9: scalar: expected a list of mappings (actual: 4)',
  ]);
});
