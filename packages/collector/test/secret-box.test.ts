import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { SecretBox } from '../src/alerting/secret-box';

function keyFileIn(tt: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-secret-box-'));
  tt.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'secrets.key');
}

t.test('the key file is created 0600 on first use and reused after', async (t) => {
  const file = keyFileIn(t);
  const box = SecretBox.openOrCreate(file);
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  const key = fs.readFileSync(file, 'utf8');
  t.match(key, /^[0-9a-f]{64}\n$/);
  const sealed = box.seal('hunter2-smtp-password', 'channel:mail:password');
  t.notMatch(sealed, /hunter2/, 'not in clear');
  const again = SecretBox.openOrCreate(file);
  t.equal(fs.readFileSync(file, 'utf8'), key, 'the existing key is kept');
  t.equal(again.open(sealed, 'channel:mail:password'), 'hunter2-smtp-password');
});

t.test('each seal differs; a value opens only under its own context and key', async (t) => {
  const box = SecretBox.openOrCreate(keyFileIn(t));
  const a = box.seal('s3cret', 'channel:a:secret');
  t.not(a, box.seal('s3cret', 'channel:a:secret'), 'a fresh IV each time');
  t.throws(() => box.open(a, 'channel:b:secret'), { code: ErrorCodes.SECRET_UNREADABLE }, 'moved to another channel: refused');
  const other = SecretBox.openOrCreate(keyFileIn(t));
  t.throws(() => other.open(a, 'channel:a:secret'), { code: ErrorCodes.SECRET_UNREADABLE }, 'another key: refused');
  const tampered = a.slice(0, -2) + (a.endsWith('A') ? 'BB' : 'AA');
  t.throws(() => box.open(tampered, 'channel:a:secret'), { code: ErrorCodes.SECRET_UNREADABLE }, 'altered: refused');
  t.throws(() => box.open('s3cret', 'channel:a:secret'), { code: ErrorCodes.SECRET_UNREADABLE, message: /not a sealed value/ }, 'a value in clear is not taken for a sealed one');
  try {
    other.open(a, 'channel:a:secret');
  } catch (err) {
    t.notMatch((err as Error).message, /s3cret/, 'the message names no value');
    t.match((err as Error).message, /channel:a:secret does not decrypt with .*secrets\.key/);
  }
  t.equal(box.open(box.seal('', 'x'), 'x'), '', 'the empty string round-trips');
  t.equal(box.open(box.seal('ünïcødé ✓', 'x'), 'x'), 'ünïcødé ✓');
});

t.test('a key file open to others, too short, or unreadable is refused with its path', async (t) => {
  const file = keyFileIn(t);
  SecretBox.openOrCreate(file);
  fs.chmodSync(file, 0o644);
  t.throws(() => SecretBox.openOrCreate(file), { code: ErrorCodes.SECRET_KEY, message: /secrets\.key: readable by other users \(mode 644\): chmod 600/ });
  fs.chmodSync(file, 0o640);
  t.throws(() => SecretBox.openOrCreate(file), { code: ErrorCodes.SECRET_KEY, message: /readable by its group/ });
  fs.writeFileSync(file, 'abcd\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  t.throws(() => SecretBox.openOrCreate(file), { code: ErrorCodes.SECRET_KEY, message: /does not hold a key \(expected 64 hex digits\)/ });
  const missingDir = path.join(path.dirname(file), 'no', 'such', 'secrets.key');
  t.throws(() => SecretBox.openOrCreate(missingDir), { code: ErrorCodes.SECRET_KEY, message: /cannot create it/ });
});
