import { asList, num, printList, queryString, str, type CommandContext } from './command-context';
import { formatTimeCell } from './relative-time';
import { terminalText } from './terminal-text';

const STATUS_COLUMNS = ['COMPONENT', 'SUBJECT', 'ISSUER', 'NOT-AFTER', 'DAYS-LEFT', 'STATUS', 'SOURCE'] as const;
const RENEW_COLUMNS = ['COMPONENT', 'NOT-AFTER'] as const;

/** A row of `ximp tls status`; JSON keys are the table's columns in snake_case (SPEC §6). */
interface StatusRow {
  component: string | null;
  subject: string | null;
  issuer: string | null;
  not_after: string | null;
  days_left: number | null;
  status: string | null;
  source: string | null;
}

/** `ximp tls status [--component NAME]`: every certificate's expiry and state. */
export async function tlsStatus(ctx: CommandContext): Promise<void> {
  const certificates = asList(await ctx.api.call('GET', `/api/v1/tls/certificates${queryString({ component: ctx.flags.component })}`));
  const rows: StatusRow[] = certificates.map((c) => ({
    component: str(c, 'component'),
    subject: str(c, 'subject'),
    issuer: str(c, 'issuer'),
    not_after: str(c, 'not_after'),
    days_left: num(c, 'days_left'),
    status: str(c, 'status'),
    source: str(c, 'source'),
  }));
  printList(ctx, STATUS_COLUMNS, rows, (r, now) => [r.component, r.subject, r.issuer, formatTimeCell(r.not_after, now), r.days_left, r.status, r.source]);
  // The reason is not a column (SPEC §6 fixes them): on stderr, which leaves --output json as it is.
  for (const c of certificates) {
    const status = str(c, 'status');
    const component = terminalText(str(c, 'component') ?? '-');
    if (status === 'error') ctx.err(`error: ${component}: ${terminalText(str(c, 'error') ?? 'renewal failed (no reason given)')}\n`);
    // XIMP renews only its own certificates: one from files is the operator's to replace in time.
    if (str(c, 'source') === 'file' && (status === 'renew-due' || status === 'expired')) ctx.err(`warning: ${fileDueText(component, c)}\n`);
  }
}

function fileDueText(component: string, c: Record<string, unknown>): string {
  const from = terminalText(str(c, 'cert_file') ?? 'files');
  const days = num(c, 'days_left');
  const when =
    str(c, 'status') === 'expired' ? `expired ${days === null ? '' : `${-days} days ago`}`.trimEnd() : `expires in ${days ?? '?'} days`;
  return `${component}: the certificate from ${from} ${when}; XIMP does not renew certificates from files: replace them`;
}

/** `ximp tls renew --all | --component NAME`: renews now and prints each new expiry. */
export async function tlsRenew(ctx: CommandContext): Promise<void> {
  const body = ctx.flags.all !== undefined ? { all: true } : { component: ctx.flags.component };
  const renewed = asList(await ctx.api.call('POST', '/api/v1/tls/renew', body));
  const rows = renewed.map((r) => ({ component: str(r, 'component'), not_after: str(r, 'not_after') }));
  printList(ctx, RENEW_COLUMNS, rows, (r, now) => [r.component, formatTimeCell(r.not_after, now)]);
  if (ctx.output === 'table') {
    ctx.out(rows.length === 0 ? 'No managed certificate to renew.\n' : 'New connections get the new certificates; live ones stay up.\n');
  }
  if (ctx.flags.all !== undefined) await tellSkipped(ctx);
}

/** `--all` leaves certificates from files alone: say which, on stderr (stdout stays the renewed list). */
async function tellSkipped(ctx: CommandContext): Promise<void> {
  const rows = asList(await ctx.api.call('GET', '/api/v1/tls/certificates'));
  const skipped = rows.filter((c) => str(c, 'source') === 'file').map((c) => terminalText(str(c, 'component') ?? '-'));
  if (skipped.length > 0) ctx.err(`skipped ${skipped.join(', ')}: certificates from files are not renewed by XIMP; replace the files\n`);
}

/** Usage problems of `tls renew`: exactly one of --all and --component. */
export function renewTargetProblem(flags: Readonly<Record<string, string>>): string | null {
  const all = flags.all !== undefined;
  const component = flags.component !== undefined;
  if (all && component) return '--all and --component: give one of them, not both';
  if (!all && !component) return 'give --all or --component NAME';
  return null;
}
