import type { StoredAlertRuleJson } from '@ximp/shared';
import { api } from '../api.js';
import { confirmDialog, field, notice, table } from '../components.js';
import { clear, h } from '../dom.js';
import { timeCell } from '../format.js';
import { can } from '../session.js';
import { errorSlot, loadInto, onSubmit, select, yesNo, type ErrorSlot } from './admin-parts.js';
import {
  RULE_AGGREGATES,
  RULE_COMPARISONS,
  RULE_KINDS,
  RULE_KIND_FIELDS,
  isRuleKind,
  ruleBody,
  ruleCondition,
  ruleFormValues,
  splitList,
  type RuleField,
  type RuleFormValues,
} from './alerts-rule-form.js';

const KIND_LABELS: Record<string, string> = {
  agent_down: 'Agent down',
  threshold: 'Metric threshold',
  token_expiry: 'Agent token expiry',
  certificate_expiry: 'Certificate expiry',
};

const FIELD_LABELS: Record<RuleField | 'name' | 'kind' | 'for' | 'channels', string> = {
  name: 'Name',
  kind: 'Kind',
  metric: 'Metric',
  matchers: 'Matchers',
  aggregate: 'Aggregation',
  rate: 'Rate window',
  op: 'Comparison',
  value: 'Threshold',
  within: 'Within',
  for: 'For',
  nodes: 'Nodes',
  channels: 'Channels',
};

const RULE_PATH = '/api/v1/alert-rules';

/** The rule editor: a form mirroring the rule's fields, showing only the chosen kind's. */
function ruleEditor(rule: StoredAlertRuleJson | null, channels: string[], done: (message: string) => void, cancel: () => void): HTMLElement {
  const v = ruleFormValues(rule);
  const editing = rule !== null;
  const name = h('input', { name: 'name', required: true, value: v.name, readonly: editing, pattern: '[a-z0-9][a-z0-9\\-]{0,62}', autocomplete: 'off', spellcheck: 'false' });
  const kind = select('kind', RULE_KINDS.map((k): [string, string] => [k, KIND_LABELS[k]]), v.kind, { disabled: rule?.built_in === true });
  const inputs: Record<RuleField, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement> = {
    metric: h('input', { name: 'metric', value: v.metric, autocomplete: 'off', spellcheck: 'false' }),
    matchers: h('textarea', { name: 'matchers', rows: 2, spellcheck: 'false' }, v.matchers),
    aggregate: select('aggregate', RULE_AGGREGATES, v.aggregate),
    rate: h('input', { name: 'rate', value: v.rate, autocomplete: 'off', spellcheck: 'false' }),
    op: select('op', RULE_COMPARISONS, v.op),
    value: h('input', { name: 'value', inputmode: 'decimal', value: v.value, autocomplete: 'off' }),
    within: h('input', { name: 'within', value: v.within, placeholder: '14d', autocomplete: 'off', spellcheck: 'false' }),
    nodes: h('input', { name: 'nodes', value: v.nodes, placeholder: 'web-*', autocomplete: 'off', spellcheck: 'false' }),
  };
  const hints: Record<RuleField, string> = {
    metric: 'A metric name, e.g. node_load1.',
    matchers: 'Labels the series must carry: label=value, separated by commas.',
    aggregate: 'How the matching series of a node combine into one value.',
    rate: 'For counters: the per-second rate over this window, e.g. 5m. Empty: the value itself.',
    op: 'Fires when the value compares so with the threshold.',
    value: 'A number.',
    within: 'Fires when expiry is this close, e.g. 14d (the default).',
    nodes: 'A node name or glob such as web-*; empty: every node.',
  };
  const wrappers = new Map<RuleField, HTMLElement>();
  for (const f of Object.keys(inputs) as RuleField[]) wrappers.set(f, field(FIELD_LABELS[f], inputs[f], hints[f]));
  const forInput = h('input', { name: 'for', value: v.for, autocomplete: 'off', spellcheck: 'false' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: v.enabled });

  // Every existing channel, plus any the rule names that is gone (so saving shows the collector's error).
  const chosen = new Set(splitList(v.channels));
  const channelNames = [...new Set([...channels, ...chosen])].sort();
  const boxes = channelNames.map((c) => h('input', { type: 'checkbox', name: 'channels', value: c, checked: chosen.has(c) }));
  const channelSet = h(
    'fieldset',
    null,
    h('legend', null, 'Channels'),
    boxes.length === 0
      ? h('p', { class: 'muted' }, 'No channels yet: create one under Channels to be notified. Without one the alert only shows here.')
      : boxes.map((b) => h('label', { class: 'check' }, b, ` ${b.value}`)),
  );

  const showKind = (): void => {
    const k = isRuleKind(kind.value) ? kind.value : 'threshold';
    for (const [f, w] of wrappers) w.hidden = !RULE_KIND_FIELDS[k].includes(f);
    (inputs.metric as HTMLInputElement).required = k === 'threshold';
    (inputs.value as HTMLInputElement).required = k === 'threshold';
  };
  kind.addEventListener('change', showKind);
  showKind();

  const slot = errorSlot();
  const heading = editing ? `Edit rule ${v.name}` : 'New rule';
  const form = h(
    'form',
    { class: 'stack editor', 'aria-label': heading },
    h('h3', null, heading),
    field(FIELD_LABELS.name, name, editing ? 'A rule keeps its name.' : 'Lowercase letters, digits and hyphens.'),
    field(FIELD_LABELS.kind, kind, rule?.built_in === true ? 'A built-in rule keeps its kind.' : undefined),
    [...wrappers.values()],
    field(FIELD_LABELS.for, forInput, 'How long the condition must hold before the alert fires, e.g. 5m.'),
    channelSet,
    h('div', { class: 'field' }, h('label', { class: 'check' }, enabled, ' Enabled')),
    slot.el,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, editing ? 'Save rule' : 'Create rule'),
      h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel'),
    ),
  );
  onSubmit(form, slot, async () => {
    const values: RuleFormValues = {
      name: name.value,
      kind: isRuleKind(kind.value) ? kind.value : v.kind,
      metric: inputs.metric.value,
      matchers: inputs.matchers.value,
      aggregate: inputs.aggregate.value,
      rate: inputs.rate.value,
      op: inputs.op.value,
      value: inputs.value.value,
      within: inputs.within.value,
      for: forInput.value,
      nodes: inputs.nodes.value,
      channels: boxes.filter((b) => b.checked).map((b) => b.value).join(','),
      enabled: enabled.checked,
    };
    const result = ruleBody(values);
    if ('field' in result) {
      inputs[result.field as RuleField].focus();
      throw new Error(`${FIELD_LABELS[result.field as RuleField]}: ${result.message}`);
    }
    if (editing) {
      await api.put(`${RULE_PATH}/${encodeURIComponent(v.name)}`, result.body);
      done(`Rule ${v.name} saved.`);
    } else {
      await api.post(RULE_PATH, result.body);
      done(`Rule ${values.name.trim()} created.`);
    }
  });
  queueMicrotask(() => (editing ? kind : name).focus());
  return form;
}

/** Rules: every role reads them; editors create, edit and delete (the built-in rule is only disabled). */
export function rulesSection(): HTMLElement {
  const editable = can('rules:write');
  const box = h('div');
  const editorBox = h('div');
  const outcome = h('div', { class: 'outcome' });
  const slot: ErrorSlot = errorSlot();

  const newButton = h('button', { type: 'button', onclick: () => openEditor(null) }, 'New rule');
  // Focus returns to the section's own button once the editor is gone.
  const closeEditor = (): void => {
    clear(editorBox);
    newButton.focus();
  };
  const openEditor = (rule: StoredAlertRuleJson | null): void => {
    slot.clear();
    clear(outcome);
    api
      .get<{ name: string }[]>('/api/v1/alert-channels')
      .then((channels) => {
        clear(editorBox);
        editorBox.append(
          ruleEditor(
            rule,
            channels.map((c) => c.name),
            (message) => {
              closeEditor();
              outcome.append(notice('success', message));
              void refresh();
            },
            closeEditor,
          ),
        );
      })
      .catch((err: unknown) => slot.show(err));
  };

  const remove = (rule: StoredAlertRuleJson): void => {
    confirmDialog(`Delete alert rule ${rule.name}? Its active alerts end and it stops notifying.`, 'Delete rule')
      .then(async (yes) => {
        if (!yes) return;
        slot.clear();
        clear(outcome);
        await api.del(`${RULE_PATH}/${encodeURIComponent(rule.name)}`);
        outcome.append(notice('success', `Rule ${rule.name} deleted.`));
        await refresh();
      })
      .catch((err: unknown) => slot.show(err));
  };

  const refresh = (): Promise<void> =>
    loadInto(box, async () => {
      const rules = await api.get<StoredAlertRuleJson[]>(RULE_PATH);
      return table(
        [
          { label: 'Name', cell: (r) => r.name },
          { label: 'Kind', cell: (r) => KIND_LABELS[r.kind] ?? r.kind },
          { label: 'Condition', cell: (r) => h('span', { class: 'mono' }, ruleCondition(r)) },
          { label: 'For', cell: (r) => r.for },
          { label: 'Nodes', cell: (r) => r.nodes ?? 'all' },
          { label: 'Channels', cell: (r) => (r.channels.length === 0 ? '—' : r.channels.join(', ')) },
          { label: 'Enabled', cell: (r) => yesNo(r.enabled) },
          { label: 'Built-in', cell: (r) => yesNo(r.built_in === true) },
          { label: 'Updated', cell: (r) => timeCell(r.updated ?? null) },
          ...(editable
            ? [
                {
                  label: 'Actions',
                  cell: (r: StoredAlertRuleJson) =>
                    h(
                      'div',
                      { class: 'row-actions' },
                      h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit rule ${r.name}`, onclick: () => openEditor(r) }, 'Edit'),
                      r.built_in === true
                        ? null
                        : h('button', { type: 'button', class: 'danger', 'aria-label': `Delete rule ${r.name}`, onclick: () => remove(r) }, 'Delete'),
                    ),
                },
              ]
            : []),
        ],
        rules,
        {
          caption: 'Alert rules',
          captionHidden: true,
          empty: editable ? 'No rules yet. Create one to be told when a node goes down or a metric crosses a threshold.' : 'No rules yet. An editor can create them.',
        },
      );
    });

  void refresh();
  return h(
    'section',
    { 'aria-labelledby': 'rules-heading' },
    h('h2', { id: 'rules-heading' }, 'Rules'),
    editable ? h('div', { class: 'toolbar' }, newButton) : null,
    slot.el,
    outcome,
    editorBox,
    box,
  );
}
