import t from 'tap';
import { channelBody, channelFormValues, storedSecrets, testDetail, type AlertChannelJson } from '../src/pages/alerts-channel-form';

const email: AlertChannelJson = {
  name: 'ops-mail',
  type: 'email',
  smtp_host: 'mail.example.org',
  smtp_port: 587,
  tls: 'starttls',
  from: 'ximp@example.org',
  to: ['a@example.org', 'b@example.org'],
  username: 'ximp',
  ca_file: null,
  password: 'set',
  repeat_interval: '4h',
};

t.test('a stored secret never reaches the form; leaving it empty leaves it out of the body', async (t) => {
  const values = channelFormValues(email);
  t.equal(values.password, '');
  t.same(storedSecrets(email), ['password']);
  t.same(channelBody(values), {
    body: {
      name: 'ops-mail',
      type: 'email',
      repeat_interval: '4h',
      smtp_host: 'mail.example.org',
      smtp_port: 587,
      tls: 'starttls',
      from: 'ximp@example.org',
      to: ['a@example.org', 'b@example.org'],
      username: 'ximp',
    },
  });
});

t.test('a secret typed in is sent as typed, and only the type\'s own', async (t) => {
  const values = { ...channelFormValues(null), name: 'hook', url: 'https://hooks.example.org/x', secret: ' s3cret ', password: 'not-mine' };
  t.same(channelBody(values), { body: { name: 'hook', type: 'webhook', url: 'https://hooks.example.org/x', secret: ' s3cret ' } });
  const am = { ...values, type: 'alertmanager' as const, bearer_token: 'tok' };
  t.same(channelBody(am), { body: { name: 'hook', type: 'alertmanager', url: 'https://hooks.example.org/x', bearer_token: 'tok' } });
});

t.test('the port must be a number', async (t) => {
  t.same(channelBody({ ...channelFormValues(email), smtp_port: '25a' }), { field: 'smtp_port', message: 'expected a port number' });
});

t.test('a viewer\'s listing (name and type) gives an empty form of that type', async (t) => {
  const values = channelFormValues({ name: 'hook', type: 'alertmanager' });
  t.equal(values.type, 'alertmanager');
  t.equal(values.url, '');
  t.same(storedSecrets({ name: 'hook', type: 'alertmanager' }), []);
});

t.test('a failed test names the receiver\'s reason when the answer has one', async (t) => {
  t.equal(testDetail({ name: 'hook', delivered: false, detail: 'HTTP 500 from hooks.example.org' }), 'HTTP 500 from hooks.example.org');
  for (const body of [undefined, null, 'text', {}, { detail: '' }, { detail: 3 }]) {
    t.equal(testDetail(body), 'the receiver refused it or could not be reached.');
  }
});
