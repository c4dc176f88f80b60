import t from 'tap';
import { ConfigError, formatConfigIssue } from '@ximp/shared';
import { channelJson, parseChannelDefinition } from '../src/alerting/channel-definition';

function problems(text: string): string {
  try {
    parseChannelDefinition(text, 'channel.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatConfigIssue).join('\n');
    throw err;
  }
  throw new Error('expected the channel to be refused');
}

t.test("SPEC §14's webhook example reads as written; its secret is kept apart and answered as set", async (t) => {
  const c = parseChannelDefinition(
    'name: ops-hook\ntype: webhook\nurl: https://hooks.example.net/ximp\nsecret: hmac-key-do-not-show\nca_file: /etc/ximp/hooks-ca.pem\n',
    'channel.yaml',
  );
  t.same(c.settings, { url: 'https://hooks.example.net/ximp', ca_file: '/etc/ximp/hooks-ca.pem' });
  t.same(c.secrets, { secret: 'hmac-key-do-not-show' });
  const json = channelJson(c, Object.keys(c.secrets));
  t.same(json, { name: 'ops-hook', type: 'webhook', url: 'https://hooks.example.net/ximp', ca_file: '/etc/ximp/hooks-ca.pem', secret: 'set', bearer_token: null });
  t.notMatch(JSON.stringify(json), /hmac-key/);
});

t.test('email: STARTTLS on 587 unless implicit TLS (465); a password without a user name is refused', async (t) => {
  const c = parseChannelDefinition(
    JSON.stringify({ name: 'mail', type: 'email', smtp_host: 'smtp.example.net', from: 'ximp@example.net', to: ['ops@example.net'], username: 'ximp', password: 'pw-do-not-show' }),
    'request body',
  );
  t.match(c.settings, { smtp_port: 587, tls: 'starttls', username: 'ximp' });
  const implicit = parseChannelDefinition(
    JSON.stringify({ name: 'mail', type: 'email', smtp_host: 'smtp.example.net', tls: 'implicit', from: 'a@b.c', to: ['d@e.f'] }),
    'request body',
  );
  t.match(implicit.settings, { smtp_port: 465, tls: 'implicit', username: null });
  t.match(problems('name: m\ntype: email\nsmtp_host: h\nfrom: a@b.c\nto: [d@e.f]\npassword: p\n'), /password: given without username/);
});

t.test('problems are named by key path; no secret is ever echoed', async (t) => {
  const text = problems(
    'name: Ops Hook\ntype: webhook\nurl: http://user:pw-in-url@hooks.example.net\nsecret: 12345\nsmtp_host: h\nrepeat_interval: 1s\n',
  );
  t.match(text, /channel\.yaml:1:7: name: expected a channel name/);
  t.match(text, /channel\.yaml:3:6: url: expected an https:\/\/ URL \(notifications go over TLS 1\.3 only\)/);
  t.match(text, /channel\.yaml:4:9: secret: expected a string \(actual: a number\)/);
  t.match(text, /smtp_host: not a setting of webhook channels/);
  t.match(text, /repeat_interval: expected a duration from 1m to 30d/);
  t.notMatch(text, /pw-in-url|12345/, 'neither the URL with its password nor the secret is echoed');
  t.match(problems('name: a\ntype: alertmanager\n'), /url: required key is missing/);
  t.match(problems('name: a\ntype: pager\n'), /type: expected one of webhook, email, alertmanager/);
  t.match(problems('name: m\ntype: email\nsmtp_host: h\nfrom: nobody\nto: []\n'), /from: expected an email address[\s\S]*to: expected at least one entry/);
  t.match(problems('name: a\ntype: alertmanager\nurl: https://am:9093\nca_file: relative.pem\n'), /ca_file: expected an absolute file path/);
});
