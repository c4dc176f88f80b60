import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '../src/errors';

/**
 * One registry of error codes, kept honest: packages/shared/src/errors.ts and docs/errors.md list
 * the same codes, and every code is referenced by the code of some package (outside the registry
 * itself), so the page never documents an error nothing can raise.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REGISTRY = path.join(ROOT, 'packages', 'shared', 'src', 'errors.ts');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

const registry = Object.entries(ErrorCodes);
const documented = [...fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8').matchAll(/^\| `(XIMP_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);

t.test('every code is XIMP_ERR_ plus its key, once', async (t) => {
  for (const [key, code] of registry) t.equal(code, `XIMP_ERR_${key}`, key);
  t.equal(new Set(registry.map(([, code]) => code)).size, registry.length, 'no code twice in errors.ts');
  t.equal(new Set(documented).size, documented.length, 'no code with two rows in docs/errors.md');
});

t.test('errors.ts and docs/errors.md list the same codes', async (t) => {
  const codes = new Set<string>(registry.map(([, code]) => code));
  const missing = [...codes].filter((code) => !documented.includes(code));
  const stale = documented.filter((code) => !codes.has(code));
  t.same(missing, [], 'every code in errors.ts has a row in docs/errors.md');
  t.same(stale, [], 'every row of docs/errors.md is a code of errors.ts');
});

t.test('every code is used in packages/*/src', async (t) => {
  const packages = fs.readdirSync(path.join(ROOT, 'packages'));
  const text = packages
    .flatMap((p) => (fs.existsSync(path.join(ROOT, 'packages', p, 'src')) ? sourceFiles(path.join(ROOT, 'packages', p, 'src')) : []))
    .filter((file) => file !== REGISTRY)
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');
  const unused = registry
    .filter(([key, code]) => !new RegExp(`\\bErrorCodes\\.${key}\\b`).test(text) && !text.includes(`'${code}'`))
    .map(([, code]) => code);
  t.same(unused, [], 'a code nothing raises is removed from errors.ts and docs/errors.md, or raised');
});
