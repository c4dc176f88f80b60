/**
 * `ximp alert channel list` shows a secret field as "set" whatever the collector answered, so a
 * collector that ever answered a secret in clear would still not have it printed; a viewer's
 * answer (names and types) gives a two-column table. The end-to-end behaviour against a real
 * collector is in test/alert-channel-cli.test.ts; this pins the CLI's own safety net.
 */
import t from 'tap';
import { alertChannelList } from '../src/cli/alert-channel-commands';
import type { CommandContext } from '../src/cli/command-context';

function context(answer: unknown, output: 'table' | 'json'): { ctx: CommandContext; printed: string[] } {
  const printed: string[] = [];
  const ctx: CommandContext = {
    api: { call: () => Promise.resolve(answer) },
    flags: {},
    positionals: [],
    output,
    out: (text) => void printed.push(text),
    err: (text) => void printed.push(text),
    now: () => Date.UTC(2026, 11, 1),
  };
  return { ctx, printed };
}

const LEAKY = [
  { name: 'mail', type: 'email', smtp_host: 'smtp.example.net', smtp_port: 587, tls: 'starttls', from: 'x@example.net', to: ['a@example.net', 'b@example.net'], username: 'ximp', password: 'pw-in-clear', ca_file: null },
  { name: 'hook', type: 'webhook', url: 'https://hooks.example.net/x', ca_file: null, secret: 'hmac-in-clear', bearer_token: null },
];

t.test('secret fields are shown as "set" in the table and in JSON', async (t) => {
  const table = context(LEAKY, 'table');
  await alertChannelList(table.ctx);
  const text = table.printed.join('');
  t.equal(
    text,
    [
      'NAME  TYPE     SETTINGS',
      'mail  email    smtp_host=smtp.example.net smtp_port=587 tls=starttls from=x@example.net to=a@example.net,b@example.net username=ximp password=set',
      'hook  webhook  url=https://hooks.example.net/x secret=set',
      '',
    ].join('\n'),
  );
  const json = context(LEAKY, 'json');
  await alertChannelList(json.ctx);
  const rows = JSON.parse(json.printed.join('')) as { settings: Record<string, unknown> }[];
  t.equal(rows[0].settings.password, 'set');
  t.equal(rows[1].settings.secret, 'set');
  t.equal(rows[1].settings.bearer_token, null, 'a secret not stored stays null');
  t.notMatch(json.printed.join('') + text, /in-clear/);
});

t.test("a viewer's answer: NAME TYPE only", async (t) => {
  const { ctx, printed } = context([{ name: 'hook', type: 'webhook' }], 'table');
  await alertChannelList(ctx);
  t.equal(printed.join(''), 'NAME  TYPE\nhook  webhook\n');
  const empty = context([], 'json');
  await alertChannelList(empty.ctx);
  t.equal(empty.printed.join(''), '[]\n');
});
