import type { CertificateJson, RenewedJson } from '@ximp/shared';
import type { CaRollJson } from '../api/tls-routes';
import { asList, asObject, jsonText, num, printList, queryString, str, type Answer, type CommandContext } from './command-context';
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
  const certificates = asList<CertificateJson>(await ctx.api.call('GET', `/api/v1/tls/certificates${queryString({ component: ctx.flags.component })}`));
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

function fileDueText(component: string, c: Answer<CertificateJson>): string {
  const from = terminalText(str(c, 'cert_file') ?? 'files');
  const days = num(c, 'days_left');
  const when =
    str(c, 'status') === 'expired' ? `expired ${days === null ? '' : `${-days} days ago`}`.trimEnd() : `expires in ${days ?? '?'} days`;
  return `${component}: the certificate from ${from} ${when}; XIMP does not renew certificates from files: replace them`;
}

/** `ximp tls renew --all | --component NAME`: renews now and prints each new expiry. */
export async function tlsRenew(ctx: CommandContext): Promise<void> {
  if (ctx.flags.component === 'ca') return tlsRollCa(ctx);
  const body = ctx.flags.all !== undefined ? { all: true } : { component: ctx.flags.component };
  const renewed = asList<RenewedJson>(await ctx.api.call('POST', '/api/v1/tls/renew', body));
  const rows = renewed.map((r) => ({ component: str(r, 'component'), not_after: str(r, 'not_after') }));
  printList(ctx, RENEW_COLUMNS, rows, (r, now) => [r.component, formatTimeCell(r.not_after, now)]);
  if (ctx.output === 'table') {
    ctx.out(rows.length === 0 ? 'No managed certificate to renew.\n' : 'New connections get the new certificates; live ones stay up.\n');
  }
  if (ctx.flags.all !== undefined) await tellSkipped(ctx);
}

/** `--all` leaves certificates from files alone: say which, on stderr (stdout stays the renewed list). */
async function tellSkipped(ctx: CommandContext): Promise<void> {
  const rows = asList<CertificateJson>(await ctx.api.call('GET', '/api/v1/tls/certificates'));
  const skipped = rows.filter((c) => str(c, 'source') === 'file').map((c) => terminalText(str(c, 'component') ?? '-'));
  if (skipped.length > 0) ctx.err(`skipped ${skipped.join(', ')}: certificates from files are not renewed by XIMP; replace the files\n`);
}

/**
 * `ximp tls renew --component ca [--step bundle|switch|drop-old]`: one step of the CA roll, and
 * what the operator does next. A step out of order is the collector's 409 (exit 1: SPEC §6 has no
 * status of its own for a conflict) with the step to run first.
 */
async function tlsRollCa(ctx: CommandContext): Promise<void> {
  const step = ctx.flags.step ?? 'bundle';
  const result = asObject<CaRollJson>(await ctx.api.call('POST', '/api/v1/tls/renew', { component: 'ca', step }));
  if (ctx.output === 'json') {
    ctx.out(jsonText(result));
    return;
  }
  const bundle = terminalText(str(result, 'bundle_file') ?? 'ca-bundle.pem');
  const ca = `${terminalText(str(result, 'subject') ?? '-')} (serial ${terminalText(str(result, 'serial') ?? '-')}, NOT-AFTER ${terminalText(str(result, 'not_after') ?? '-')})`;
  const changed = result.changed === true;
  const lines: string[] = [];
  if (step === 'bundle') {
    lines.push(
      changed ? `Created the next CA: ${ca}.` : `The CA roll is already at step bundle; nothing changed. Next CA: ${ca}.`,
      `Trust bundle (current CA + next CA): ${bundle}. Nothing in service changed.`,
      'Now distribute the bundle:',
      '  - to every agent as server.ca_file in agent.yaml, then reload the agents (SIGHUP: systemctl reload ximp-agent)',
      '  - to every CLI config as ca_file (cli.yaml, or XIMP_CA_FILE)',
      "  - to each remote-write store as the CA it checks the collector's client certificate with",
      'Then run: ximp tls renew --component ca --step switch',
      'To undo instead (before switch): delete ca-next.pem and ca-next-key.pem next to the bundle.',
    );
  } else if (step === 'switch') {
    const renewed = asList<RenewedJson>(result.renewed ?? []).map((r) => `${terminalText(str(r, 'component') ?? '-')} until ${terminalText(str(r, 'not_after') ?? '-')}`);
    lines.push(
      changed ? `The new CA now issues: ${ca}.` : `The CA roll is already at step switch; nothing changed. Issuing CA: ${ca}.`,
      ...(renewed.length > 0 ? [`Re-issued by it: ${renewed.join(', ')}. Live connections stay up.`] : []),
      'Agents with the bundle connect as before; an agent holding only the old CA is refused (unknown CA).',
      `The old CA is still trusted through ${bundle}. Once every agent, CLI and store has the bundle, run:`,
      '  ximp tls renew --component ca --step drop-old',
    );
  } else {
    lines.push(
      changed ? `Dropped the old CA. Issuing CA: ${ca}.` : `The CA roll is already at step drop-old; nothing changed. Issuing CA: ${ca}.`,
      `${bundle} now holds the issuing CA alone; distribute it in place of the old bundle when convenient.`,
    );
  }
  ctx.out(lines.join('\n') + '\n');
}

/** Usage problems of `tls renew`: exactly one of --all and --component; --step only for the CA. */
export function renewTargetProblem(flags: Readonly<Record<string, string>>): string | null {
  const all = flags.all !== undefined;
  const component = flags.component !== undefined;
  if (all && component) return '--all and --component: give one of them, not both';
  if (!all && !component) return 'give --all or --component NAME';
  if (flags.step !== undefined && flags.component !== 'ca') return '--step: only with --component ca (the steps of a CA roll)';
  return null;
}
