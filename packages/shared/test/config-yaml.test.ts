import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes, type XimpError } from '../src/errors';
import { ConfigError, formatConfigIssue } from '../src/config/issues';
import { ConfigReader } from '../src/config/fields';
import { parseConfigYaml, readConfigFile } from '../src/config/load-yaml';
import { unloadYamlLibrary } from '../src/config/yaml-library';

const SECRET = 'ximp_abcdefghijkl_' + 'q'.repeat(52);

function syntaxError(text: string, file = 'agent.yaml'): ConfigError {
  try {
    parseConfigYaml(text, file);
  } catch (err) {
    if ((err as ConfigError).code === ErrorCodes.CONFIG_INVALID) return err as ConfigError;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function thrown(fn: () => unknown): XimpError {
  try {
    fn();
  } catch (err) {
    return err as XimpError;
  }
  throw new Error('expected an error');
}

t.test('an unreadable file is XIMP_ERR_CONFIG_UNREADABLE naming the path', async (t) => {
  const missing = path.join(os.tmpdir(), 'ximp-no-such-dir', 'agent.yaml');
  const err = thrown(() => readConfigFile(missing));
  t.equal(err.code, ErrorCodes.CONFIG_UNREADABLE);
  t.ok(err.message.includes(missing), 'names the path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-yaml-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.equal(thrown(() => readConfigFile(dir)).code, ErrorCodes.CONFIG_UNREADABLE, 'a folder is not a file');
  fs.writeFileSync(path.join(dir, 'a.yaml'), 'x: 1\n');
  t.equal(readConfigFile(path.join(dir, 'a.yaml')), 'x: 1\n');
});

t.test('syntax errors: our own words, position, base name, no source excerpt', async (t) => {
  const err = syntaxError(`server:\n  auth_token: "${SECRET}\\q"\n`, '/etc/ximp/agent.yaml');
  t.equal(err.code, ErrorCodes.CONFIG_INVALID);
  t.equal(err.issues.length, 1);
  t.match(err.issues[0], { file: 'agent.yaml', line: 2, path: '' });
  t.match(err.message, /^agent\.yaml:2:\d+: invalid YAML: invalid escape sequence/);
  t.notOk(err.message.includes(SECRET), 'the secret line is not echoed');
  t.notOk(err.message.includes('qqqq'), 'not even part of it');
  t.notOk(err.message.includes('^'), 'no caret excerpt');
});

t.test('bad indentation with a token on the line is reported without it', async (t) => {
  const err = syntaxError(`server:\n  url: wss://x/v1\n   auth_token: ${SECRET}\n`);
  t.ok(err.issues.length >= 1);
  t.notOk(err.message.includes(SECRET));
  t.match(err.message, /^agent\.yaml:\d+:\d+: invalid YAML: /m);
});

t.test('duplicate keys and multiple documents are errors', async (t) => {
  const dup = syntaxError('interval: 10s\ninterval: 20s\n');
  t.match(dup.issues[0], { line: 2, col: 1, message: 'invalid YAML: duplicate key' });
  const multi = syntaxError('a: 1\n---\nb: 2\n');
  t.match(multi.message, /more than one YAML document/);
});

t.test('all syntax errors come in one error, in file order', async (t) => {
  const err = syntaxError('a: "\\q"\nb: 1\nb: 2\n');
  t.equal(err.issues.length, 2);
  t.ok(err.issues[0].line < err.issues[1].line);
  t.equal(err.message.split('\n').length, 2);
});

t.test('an empty document parses', async (t) => {
  t.equal(parseConfigYaml('', 'x.yaml').doc.contents, null);
  t.equal(parseConfigYaml('# only a comment\n', 'x.yaml').doc.contents, null);
});

t.test('formatConfigIssue never prints something shaped like a token', async (t) => {
  const line = formatConfigIssue({ file: 'a.yaml', line: 1, col: 2, path: 'node', message: `expected a node name (actual: "${SECRET}")` });
  t.notOk(line.includes(SECRET));
  t.equal(line, 'a.yaml:1:2: node: expected a node name (actual: "ximp_<hidden>")');
  t.equal(formatConfigIssue({ file: 'a.yaml', line: 3, col: 4, path: '', message: 'm' }), 'a.yaml:3:4: m');
});

t.test('the yaml library can be unloaded between reads; documents parsed before stay readable', async (t) => {
  const yamlModules = () => Object.keys(require.cache).filter((f) => f.includes(`${path.sep}node_modules${path.sep}yaml${path.sep}`));
  const before = parseConfigYaml('name: abc\nlist: [x, y]\n', 'before.yaml');
  t.not(yamlModules().length, 0, 'loaded to parse');
  unloadYamlLibrary();
  t.same(yamlModules(), [], 'no yaml module left in the module cache');
  const reachable = Object.values(require.cache).some((m) => m?.children.some((c) => c.filename.includes(`${path.sep}node_modules${path.sep}yaml${path.sep}`)));
  t.notOk(reachable, 'nor among any module\'s children');
  const r = ConfigReader.root(before, ['name', 'list']);
  t.equal(r.string('name'), 'abc', 'a document parsed before the unload is read with the fresh copy');
  t.same(r.stringList('list', { expected: 'a word' }), ['x', 'y'], 'and its kinds (a list of texts) are told apart');
  t.equal(ConfigReader.root(parseConfigYaml('name: xyz\n', 'after.yaml'), ['name']).string('name'), 'xyz', 'parsing loads it again');
  unloadYamlLibrary();
  unloadYamlLibrary();
  t.same(yamlModules(), [], 'unloading twice is harmless');
});
