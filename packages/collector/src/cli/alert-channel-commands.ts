import { CHANNEL_TYPES, KEEP_SECRET, SECRET_FIELDS, channelJson, parseChannelDefinition, type ChannelType } from '../alerting/channel-definition';
import { alertFieldCell } from './alert-field-cell';
import { parseAlertFile, readAlertFile, secretFileWarning } from './alert-file';
import { CliError } from './cli-error';
import { asList, asObject, jsonText, printList, str, type CommandContext } from './command-context';
import { ExitCodes } from './exit-codes';
import { formatFields } from './table';

/** Keys of a channel answer that are not its settings. */
const NOT_SETTINGS = new Set(['name', 'type', 'created', 'updated']);
/** The HTTP status of a test the channel did not take: its answer is the result, not a failure of the API. */
const NOT_DELIVERED = 502;

function secretFields(type: string | null): readonly string[] {
  return (CHANNEL_TYPES as readonly string[]).includes(type ?? '') ? SECRET_FIELDS[type as ChannelType] : [];
}

/**
 * A channel's settings as answered to an editor, with every secret field shown as "set" whatever
 * came back: the collector answers "set" already, and this keeps it so should it ever not.
 */
function settingsOf(channel: Record<string, unknown>): Record<string, unknown> | null {
  const secrets = secretFields(str(channel, 'type'));
  const settings: Record<string, unknown> = {};
  let any = false;
  for (const [key, value] of Object.entries(channel)) {
    if (NOT_SETTINGS.has(key)) continue;
    any = true;
    settings[key] = secrets.includes(key) && value !== null ? KEEP_SECRET : value;
  }
  return any ? settings : null;
}

/** `url=https://… to=a@x,b@x password=set`: the settings that are set, on one line. */
function settingsSummary(settings: Record<string, unknown> | null, now: number): string | null {
  if (settings === null) return null;
  const parts = Object.entries(settings)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${alertFieldCell(key, value, now)}`);
  return parts.join(' ');
}

/**
 * The channel of `--file`, checked with the collector's reader, as the JSON object the API takes:
 * its settings, and the secrets the file gives (absent ones keep the stored value on update).
 * A file holding a secret that others may read gets a warning; the secret is never printed.
 */
async function channelFromFile(ctx: CommandContext): Promise<Record<string, unknown>> {
  const file = await readAlertFile(ctx.flags.file);
  const def = parseAlertFile(ctx, file, 'alert channel', parseChannelDefinition);
  const body = channelJson(def, []);
  for (const field of SECRET_FIELDS[def.type]) {
    if (field in def.secrets) body[field] = def.secrets[field];
    else delete body[field];
  }
  const holdsSecret = Object.values(def.secrets).some((v) => v !== KEEP_SECRET);
  const warning = holdsSecret ? secretFileWarning(file) : null;
  if (warning !== null) ctx.err(`ximp: warning: ${warning}\n`);
  return body;
}

function channelPath(name: string): string {
  return `/api/v1/alert-channels/${encodeURIComponent(name)}`;
}

/** A channel as an editor's answer holds it, secrets as "set". */
function printChannel(ctx: CommandContext, channel: Record<string, unknown>, note: string): void {
  const shown = { name: channel.name, type: channel.type, ...settingsOf(channel), created: channel.created, updated: channel.updated };
  if (ctx.output === 'json') {
    ctx.out(jsonText(shown));
    return;
  }
  const now = ctx.now();
  ctx.out(formatFields(Object.entries(shown).map(([key, value]) => [key, alertFieldCell(key, value, now)] as const)) + `\n${note}\n`);
}

/** `ximp alert channel create --file FILE`. */
export async function alertChannelCreate(ctx: CommandContext): Promise<void> {
  const body = await channelFromFile(ctx);
  const created = asObject(await ctx.api.call('POST', '/api/v1/alert-channels', body));
  printChannel(ctx, created, `created alert channel ${str(created, 'name') ?? String(body.name)}`);
}

/** `ximp alert channel update NAME --file FILE`: a secret left out (or given as "set") is kept. */
export async function alertChannelUpdate(ctx: CommandContext): Promise<void> {
  const body = await channelFromFile(ctx);
  const updated = asObject(await ctx.api.call('PUT', channelPath(ctx.positionals[0]), body));
  printChannel(ctx, updated, `updated alert channel ${str(updated, 'name') ?? ctx.positionals[0]}`);
}

/**
 * `ximp alert channel list`: NAME TYPE for every role; editors' answers carry the settings, shown
 * as a SETTINGS column (JSON `settings`, an object) with secrets as "set".
 */
export async function alertChannelList(ctx: CommandContext): Promise<void> {
  const channels = asList(await ctx.api.call('GET', '/api/v1/alert-channels'));
  const withSettings = channels.some((c) => settingsOf(c) !== null);
  if (!withSettings) {
    const rows = channels.map((c) => ({ name: str(c, 'name'), type: str(c, 'type') }));
    printList(ctx, ['NAME', 'TYPE'], rows, (r) => [r.name, r.type]);
    return;
  }
  const rows = channels.map((c) => ({ name: str(c, 'name'), type: str(c, 'type'), settings: settingsOf(c) }));
  printList(ctx, ['NAME', 'TYPE', 'SETTINGS'], rows, (r, now) => [r.name, r.type, settingsSummary(r.settings, now)]);
}

/**
 * `ximp alert channel test NAME`: sends a test notification now. Exit 0 when the channel took it,
 * 1 with the channel's answer when not.
 */
export async function alertChannelTest(ctx: CommandContext): Promise<void> {
  const name = ctx.positionals[0];
  const answer = asObject(await ctx.api.call('POST', `${channelPath(name)}/test`, undefined, [NOT_DELIVERED]));
  const delivered = answer.delivered === true;
  const detail = str(answer, 'detail');
  if (ctx.output === 'json') ctx.out(jsonText({ name, delivered, detail }));
  if (!delivered) {
    throw new CliError(ExitCodes.FAILED, `test notification through ${name} not delivered: ${detail ?? 'no answer given'}`);
  }
  if (ctx.output === 'table') ctx.out(`delivered a test notification through ${name}${detail === null ? '' : ` (${detail})`}\n`);
}

/** `ximp alert channel delete NAME`: refused (exit 1) while a rule still names the channel. */
export async function alertChannelDelete(ctx: CommandContext): Promise<void> {
  const name = ctx.positionals[0];
  await ctx.api.call('DELETE', channelPath(name));
  if (ctx.output === 'json') ctx.out(jsonText({ name, deleted: true }));
  else ctx.out(`deleted alert channel ${name}\n`);
}
