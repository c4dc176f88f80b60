import type { AlertRuleJson } from '@ximp/shared';
import { alertRuleJson, parseAlertRule } from '../alerting/alert-rule';
import { alertFieldCell } from './alert-field-cell';
import { parseAlertFile, readAlertFile } from './alert-file';
import { asList, asObject, jsonText, printList, str, type CommandContext } from './command-context';
import { formatFields } from './table';

const LIST_COLUMNS = ['NAME', 'KIND', 'FOR', 'NODES', 'CHANNELS', 'ENABLED', 'BUILT-IN'] as const;

/** A row of `ximp alert rule list`; JSON keys are the table's columns in snake_case (SPEC §6). */
interface RuleRow {
  name: string | null;
  kind: string | null;
  for: string | null;
  nodes: string | null;
  channels: string[];
  enabled: boolean | null;
  built_in: boolean | null;
}

function flag(obj: Record<string, unknown>, key: string): boolean | null {
  return typeof obj[key] === 'boolean' ? (obj[key] as boolean) : null;
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
}

/** A rule as the API answers it: `key: value` lines in the table form, the object itself in JSON. */
function printRule(ctx: CommandContext, rule: Record<string, unknown>, note: string | null): void {
  if (ctx.output === 'json') {
    ctx.out(jsonText(rule));
    return;
  }
  const now = ctx.now();
  ctx.out(formatFields(Object.entries(rule).map(([key, value]) => [key, alertFieldCell(key, value, now)] as const)) + (note === null ? '' : `\n${note}\n`));
}

/**
 * The rule of `--file`, checked here with the collector's own reader (problems as FILE:LINE:COL,
 * exit 2, nothing sent) and sent as the JSON object the API takes.
 */
async function ruleFromFile(ctx: CommandContext): Promise<AlertRuleJson> {
  const file = await readAlertFile(ctx.flags.file);
  return alertRuleJson(parseAlertFile(ctx, file, 'alert rule', parseAlertRule));
}

function rulePath(name: string): string {
  return `/api/v1/alert-rules/${encodeURIComponent(name)}`;
}

/** `ximp alert rule create --file FILE`. */
export async function alertRuleCreate(ctx: CommandContext): Promise<void> {
  const body = await ruleFromFile(ctx);
  const created = asObject(await ctx.api.call('POST', '/api/v1/alert-rules', body));
  printRule(ctx, created, `created alert rule ${str(created, 'name') ?? String(body.name)}`);
}

/** `ximp alert rule update NAME --file FILE`: the file replaces the rule (its name must be NAME). */
export async function alertRuleUpdate(ctx: CommandContext): Promise<void> {
  const body = await ruleFromFile(ctx);
  const updated = asObject(await ctx.api.call('PUT', rulePath(ctx.positionals[0]), body));
  printRule(ctx, updated, `updated alert rule ${str(updated, 'name') ?? ctx.positionals[0]}`);
}

/** `ximp alert rule list`. */
export async function alertRuleList(ctx: CommandContext): Promise<void> {
  const rules = asList(await ctx.api.call('GET', '/api/v1/alert-rules'));
  const rows: RuleRow[] = rules.map((r) => ({
    name: str(r, 'name'),
    kind: str(r, 'kind'),
    for: str(r, 'for'),
    nodes: str(r, 'nodes'),
    channels: names(r.channels),
    enabled: flag(r, 'enabled'),
    built_in: flag(r, 'built_in'),
  }));
  printList(ctx, LIST_COLUMNS, rows, (r) => [
    r.name,
    r.kind,
    r.for,
    r.nodes,
    r.channels.join(','),
    r.enabled === null ? null : r.enabled ? 'yes' : 'no',
    r.built_in === null ? null : r.built_in ? 'yes' : 'no',
  ]);
}

/** `ximp alert rule show NAME`: every setting of one rule (exit 4 when there is none of that name). */
export async function alertRuleShow(ctx: CommandContext): Promise<void> {
  printRule(ctx, asObject(await ctx.api.call('GET', rulePath(ctx.positionals[0]))), null);
}

/** `ximp alert rule delete NAME`: the built-in agent-down rule cannot be deleted (exit 1, disable it instead). */
export async function alertRuleDelete(ctx: CommandContext): Promise<void> {
  const name = ctx.positionals[0];
  await ctx.api.call('DELETE', rulePath(name));
  if (ctx.output === 'json') ctx.out(jsonText({ name, deleted: true }));
  else ctx.out(`deleted alert rule ${name}\n`);
}
