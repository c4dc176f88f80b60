import { api, ApiError } from '../api.js';
import { confirmDialog, field, notice, table } from '../components.js';
import { clear, h } from '../dom.js';
import { can } from '../session.js';
import { errorSlot, loadInto, onSubmit, select, type ErrorSlot } from './admin-parts.js';
import {
  CHANNEL_SECRETS,
  CHANNEL_SETTINGS,
  CHANNEL_TYPES,
  SMTP_TLS_MODES,
  channelBody,
  channelFormValues,
  isChannelType,
  storedSecrets,
  testDetail,
  type AlertChannelJson,
  type ChannelFormValues,
  type ChannelSecret,
  type ChannelSetting,
} from './alerts-channel-form.js';

const TYPE_LABELS: Record<string, string> = { webhook: 'Webhook', email: 'Email', alertmanager: 'Alertmanager' };

const LABELS: Record<ChannelSetting | ChannelSecret, string> = {
  url: 'URL',
  ca_file: 'CA file',
  smtp_host: 'SMTP host',
  smtp_port: 'SMTP port',
  tls: 'TLS',
  from: 'From',
  to: 'To',
  username: 'User name',
  secret: 'Signing secret',
  bearer_token: 'Bearer token',
  password: 'Password',
};

const HINTS: Partial<Record<ChannelSetting | ChannelSecret, string>> = {
  url: 'https:// only, without credentials.',
  ca_file: 'An absolute path on the collector; empty: the system’s CAs.',
  smtp_port: 'Empty: 587 with STARTTLS, 465 with implicit TLS.',
  to: 'Recipient addresses, separated by commas.',
  secret: 'The HMAC key of the X-Ximp-Signature header.',
  bearer_token: 'Sent as Authorization: Bearer.',
  password: 'Only with a user name.',
};

const CHANNEL_PATH = '/api/v1/alert-channels';

/** Where a channel sends, in one line (editors only get the settings). */
function target(c: AlertChannelJson): string {
  if (c.type === 'email') return `${typeof c.smtp_host === 'string' ? c.smtp_host : ''} → ${Array.isArray(c.to) ? c.to.join(', ') : ''}`;
  return typeof c.url === 'string' ? c.url : '';
}

/** The channel editor: the type's settings, and its secrets write-only (never filled in). */
function channelEditor(channel: AlertChannelJson | null, done: (message: string) => void, cancel: () => void): HTMLElement {
  const v = channelFormValues(channel);
  const editing = channel !== null;
  const stored = new Set(channel === null ? [] : storedSecrets(channel));
  const name = h('input', { name: 'name', required: true, value: v.name, readonly: editing, pattern: '[a-z0-9][a-z0-9\\-]{0,62}', autocomplete: 'off', spellcheck: 'false' });
  const type = select('type', CHANNEL_TYPES.map((t): [string, string] => [t, TYPE_LABELS[t]]), v.type, { disabled: editing });
  const repeat = h('input', { name: 'repeat_interval', value: v.repeat_interval, placeholder: '4h', autocomplete: 'off', spellcheck: 'false' });

  const inputs = {} as Record<ChannelSetting | ChannelSecret, HTMLInputElement | HTMLSelectElement>;
  const wrappers = new Map<ChannelSetting | ChannelSecret, HTMLElement>();
  for (const f of ['url', 'smtp_host', 'smtp_port', 'tls', 'from', 'to', 'username', 'ca_file'] as ChannelSetting[]) {
    inputs[f] = f === 'tls' ? select('tls', SMTP_TLS_MODES, v.tls) : h('input', { name: f, value: v[f], inputmode: f === 'smtp_port' ? 'numeric' : null, autocomplete: 'off', spellcheck: 'false' });
    wrappers.set(f, field(LABELS[f], inputs[f], HINTS[f]));
  }
  for (const f of ['secret', 'bearer_token', 'password'] as ChannelSecret[]) {
    // Never given a value: the collector answers only that a secret is set.
    inputs[f] = h('input', { name: f, type: 'password', autocomplete: 'new-password', spellcheck: 'false' });
    const state = editing ? (stored.has(f) ? 'Stored; unchanged if left empty.' : 'Not set; unchanged if left empty.') : 'Write-only: it cannot be shown again.';
    wrappers.set(f, field(LABELS[f], inputs[f], `${HINTS[f] ?? ''} ${state}`.trim()));
  }
  const showType = (): void => {
    const t = isChannelType(type.value) ? type.value : 'webhook';
    const visible = new Set<string>([...CHANNEL_SETTINGS[t], ...CHANNEL_SECRETS[t]]);
    for (const [f, w] of wrappers) w.hidden = !visible.has(f);
    (inputs.url as HTMLInputElement).required = t !== 'email';
    for (const f of ['smtp_host', 'from', 'to'] as const) (inputs[f] as HTMLInputElement).required = t === 'email';
    (inputs.secret as HTMLInputElement).required = t === 'webhook' && !stored.has('secret');
  };
  type.addEventListener('change', showType);
  showType();

  const slot = errorSlot();
  const heading = editing ? `Edit channel ${v.name}` : 'New channel';
  const form = h(
    'form',
    { class: 'stack editor', 'aria-label': heading },
    h('h3', null, heading),
    field('Name', name, editing ? 'A channel keeps its name.' : 'Lowercase letters, digits and hyphens.'),
    field('Type', type, editing ? 'A channel keeps its type.' : undefined),
    field('Repeat interval', repeat, 'How often a firing alert is sent again, e.g. 4h; empty: the collector’s default.'),
    [...wrappers.values()],
    slot.el,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, editing ? 'Save channel' : 'Create channel'),
      h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel'),
    ),
  );
  onSubmit(form, slot, async () => {
    const values = { name: name.value, type: isChannelType(type.value) ? type.value : v.type, repeat_interval: repeat.value } as ChannelFormValues;
    for (const f of Object.keys(inputs) as (ChannelSetting | ChannelSecret)[]) values[f] = inputs[f].value;
    const result = channelBody(values);
    if ('field' in result) {
      const f = result.field as ChannelSetting;
      inputs[f].focus();
      throw new Error(`${LABELS[f]}: ${result.message}`);
    }
    if (editing) {
      await api.put(`${CHANNEL_PATH}/${encodeURIComponent(v.name)}`, result.body);
      done(`Channel ${v.name} saved.`);
    } else {
      await api.post(CHANNEL_PATH, result.body);
      done(`Channel ${values.name.trim()} created.`);
    }
    // Typed secrets leave the page with the form.
    for (const f of ['secret', 'bearer_token', 'password'] as const) inputs[f].value = '';
  });
  queueMicrotask(() => (editing ? repeat : name).focus());
  return form;
}

/** Channels: viewers see names and types; editors see settings and create, edit, test and delete. */
export function channelsSection(): HTMLElement {
  const editable = can('channels:write');
  const box = h('div');
  const editorBox = h('div');
  const outcome = h('div', { class: 'outcome' });
  const slot: ErrorSlot = errorSlot();

  const newButton = h('button', { type: 'button', onclick: () => openEditor(null) }, 'New channel');
  // Focus returns to the section's own button once the editor is gone.
  const closeEditor = (): void => {
    clear(editorBox);
    newButton.focus();
  };
  const finished = (message: string): void => {
    closeEditor();
    outcome.append(notice('success', message));
    void refresh();
  };
  const openEditor = (c: AlertChannelJson | null): void => {
    slot.clear();
    clear(outcome);
    clear(editorBox);
    editorBox.append(channelEditor(c, finished, closeEditor));
  };

  const remove = (c: AlertChannelJson): void => {
    confirmDialog(`Delete alert channel ${c.name}? Its stored secrets are deleted with it.`, 'Delete channel')
      .then(async (yes) => {
        if (!yes) return;
        slot.clear();
        clear(outcome);
        await api.del(`${CHANNEL_PATH}/${encodeURIComponent(c.name)}`);
        outcome.append(notice('success', `Channel ${c.name} deleted.`));
        await refresh();
      })
      .catch((err: unknown) => slot.show(err));
  };

  const test = (c: AlertChannelJson, button: HTMLButtonElement): void => {
    button.disabled = true;
    slot.clear();
    clear(outcome);
    api
      .post<{ delivered: boolean; detail: string | null }>(`${CHANNEL_PATH}/${encodeURIComponent(c.name)}/test`)
      .then((answer) => outcome.append(notice('success', `Test notification delivered to ${c.name}.${answer.detail ? ` ${answer.detail}` : ''}`)))
      .catch((err: unknown) => {
        // 502: the channel's receiver did not take it; the answer says why.
        if (err instanceof ApiError && err.status === 502) outcome.append(notice('error', `Test notification to ${c.name} was not delivered: ${testDetail(err.body)}`));
        else slot.show(err);
      })
      .finally(() => (button.disabled = false));
  };

  const refresh = (): Promise<void> =>
    loadInto(box, async () => {
      const channels = await api.get<AlertChannelJson[]>(CHANNEL_PATH);
      return table(
        [
          { label: 'Name', cell: (c) => c.name },
          { label: 'Type', cell: (c) => TYPE_LABELS[c.type] ?? c.type },
          ...(editable
            ? [
                { label: 'Sends to', cell: (c: AlertChannelJson) => h('span', { class: 'mono' }, target(c)) },
                { label: 'Secrets stored', cell: (c: AlertChannelJson) => storedSecrets(c).map((s) => LABELS[s]).join(', ') || '—' },
                { label: 'Repeat interval', cell: (c: AlertChannelJson) => c.repeat_interval ?? 'default' },
                {
                  label: 'Actions',
                  cell: (c: AlertChannelJson) => {
                    const testButton = h('button', { type: 'button', class: 'secondary', 'aria-label': `Test channel ${c.name}` }, 'Test');
                    testButton.addEventListener('click', () => test(c, testButton));
                    return h(
                      'div',
                      { class: 'row-actions' },
                      h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit channel ${c.name}`, onclick: () => openEditor(c) }, 'Edit'),
                      testButton,
                      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete channel ${c.name}`, onclick: () => remove(c) }, 'Delete'),
                    );
                  },
                },
              ]
            : []),
        ],
        channels,
        {
          caption: 'Alert channels',
          captionHidden: true,
          empty: editable ? 'No channels yet. Create one (webhook, email or Alertmanager), then name it in a rule.' : 'No channels yet. An editor can create them.',
        },
      );
    });

  void refresh();
  return h(
    'section',
    { 'aria-labelledby': 'channels-heading' },
    h('h2', { id: 'channels-heading' }, 'Channels'),
    editable ? h('div', { class: 'toolbar' }, newButton) : null,
    slot.el,
    outcome,
    editorBox,
    box,
  );
}
