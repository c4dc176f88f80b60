import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { parseChannelDefinition } from '../src/alerting/channel-definition';
import { ChannelStore } from '../src/alerting/channel-store';
import { SecretBox } from '../src/alerting/secret-box';
import { DATABASE_FILE, openDatabase } from '../src/store/database';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const HMAC = 'hmac-key-7f3c9a1e-never-in-clear';
const PASSWORD = 'smtp-pass-5b2d8e4f-never-in-clear';

function setup(tt: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-channels-'));
  const db = openDatabase(dir);
  tt.teardown(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const box = SecretBox.openOrCreate(path.join(dir, 'secrets.key'));
  return { dir, db, store: new ChannelStore(db, box) };
}

const hook = (extra: Record<string, unknown> = {}) =>
  parseChannelDefinition(JSON.stringify({ name: 'ops-hook', type: 'webhook', url: 'https://hooks.example.net/x', ...extra }), 'body');
const mail = (extra: Record<string, unknown> = {}) =>
  parseChannelDefinition(
    JSON.stringify({ name: 'mail', type: 'email', smtp_host: 'smtp.example.net', from: 'a@example.net', to: ['b@example.net'], username: 'ximp', ...extra }),
    'body',
  );

t.test('secrets are sealed in the database, opened only for a delivery, and listed by name', async (t) => {
  const { dir, db, store } = setup(t);
  const created = store.create(hook({ secret: HMAC }), T0);
  t.same(created.secretsChanged, ['secret']);
  t.same(created.channel.secretFields, ['secret']);
  store.create(mail({ password: PASSWORD }), T0);
  t.same(store.secrets('ops-hook'), { secret: HMAC });
  t.same(store.secrets('mail'), { password: PASSWORD });
  t.notMatch(JSON.stringify(store.list()), /never-in-clear/, 'no listing holds a secret');
  db.pragma('wal_checkpoint(TRUNCATE)');
  for (const file of fs.readdirSync(dir).filter((f) => f.startsWith(DATABASE_FILE))) {
    const bytes = fs.readFileSync(path.join(dir, file));
    t.equal(bytes.indexOf(HMAC), -1, `${file}: no signing secret in clear`);
    t.equal(bytes.indexOf(PASSWORD), -1, `${file}: no password in clear`);
  }
});

t.test('an update keeps a secret given as "set" or left out, replaces a new one, and says which changed', async (t) => {
  const { store } = setup(t);
  store.create(hook({ secret: HMAC }), T0);
  const kept = store.update('ops-hook', hook({ secret: 'set', url: 'https://hooks.example.net/y' }), T0 + 1);
  t.same(kept.secretsChanged, []);
  t.equal(store.secrets('ops-hook').secret, HMAC);
  t.equal(store.update('ops-hook', hook(), T0 + 2).secretsChanged.length, 0, 'left out: kept');
  t.equal(store.secrets('ops-hook').secret, HMAC);
  const replaced = store.update('ops-hook', hook({ bearer_token: 'tok-1', secret: 'new-hmac' }), T0 + 3);
  t.same(replaced.secretsChanged, ['bearer_token', 'secret']);
  t.same(store.secrets('ops-hook'), { secret: 'new-hmac', bearer_token: 'tok-1' });
  t.match(store.get('ops-hook'), { createdMs: T0, updatedMs: T0 + 3, settings: { url: 'https://hooks.example.net/x' } });
});

t.test('a channel without a secret its type needs is refused; "set" with nothing stored is refused', async (t) => {
  const { store } = setup(t);
  t.throws(() => store.create(hook(), T0), { code: ErrorCodes.REQUEST_INVALID, message: /secret: required/ });
  t.throws(() => store.create(hook({ secret: 'set' }), T0), { code: ErrorCodes.REQUEST_INVALID, message: /keeps a stored value, and this channel has none/ });
  t.throws(() => store.create(mail(), T0), { code: ErrorCodes.REQUEST_INVALID, message: /password: required with username/ });
  t.equal(store.list().length, 0, 'nothing stored');
});

t.test('names are unique; unknown names are 404s; a sealed secret moved to another channel does not open', async (t) => {
  const { db, store } = setup(t);
  store.create(hook({ secret: HMAC }), T0);
  t.throws(() => store.create(hook({ secret: 'x' }), T0), { code: ErrorCodes.CONFLICT });
  t.throws(() => store.update('nope', hook({ secret: 'x', name: 'nope' }), T0), { code: ErrorCodes.NOT_FOUND });
  t.throws(() => store.update('ops-hook', hook({ secret: 'x', name: 'other' }), T0), { code: ErrorCodes.CONFLICT });
  store.create(parseChannelDefinition(JSON.stringify({ name: 'other', type: 'webhook', url: 'https://o.example.net', secret: 'o' }), 'body'), T0);
  const sealed = (db.prepare("SELECT sealed_json FROM alert_channels WHERE name = 'ops-hook'").get() as { sealed_json: string }).sealed_json;
  db.prepare("UPDATE alert_channels SET sealed_json = ? WHERE name = 'other'").run(sealed);
  t.throws(() => store.secrets('other'), { code: ErrorCodes.SECRET_UNREADABLE });
  store.delete('ops-hook');
  t.throws(() => store.delete('ops-hook'), { code: ErrorCodes.NOT_FOUND });
});
