import {
  isAgentTokenId,
  MAX_REVOKE_IDS,
  parseAgentToken,
  type AgentTokenJson,
  type AgentTokenRevokeAnswerJson,
  type AgentTokenRevokeRequestJson,
  type AgentTokenRevokeResultJson,
  type ClosedSessionJson,
  type CreatedAgentTokenJson,
  type RevokedAgentTokenJson,
} from '@ximp/shared';
import { CliError } from './cli-error';
import { asList, asObject, jsonText, num, printList, queryString, str, type Answer, type CommandContext } from './command-context';
import { ExitCodes } from './exit-codes';
import { formatTimeCell } from './relative-time';
import { formatFields, formatTable } from './table';

const LIST_COLUMNS = ['ID', 'NODE', 'STATUS', 'CREATED', 'EXPIRES', 'DAYS-LEFT', 'LAST-USED'] as const;
const REVOKE_COLUMNS = ['ID', 'STATUS', 'CLOSED-SESSIONS'] as const;

/** `ximp agent token create --node NODE [--expires 365d]`. */
export async function agentTokenCreate(ctx: CommandContext): Promise<void> {
  const request: Record<string, string> = { node: ctx.flags.node };
  if (ctx.flags.expires !== undefined) request.expires = ctx.flags.expires;
  const created = asObject<CreatedAgentTokenJson>(await ctx.api.call('POST', '/api/v1/agent-tokens', request));
  const result = { id: str(created, 'id'), node: str(created, 'node'), expires: str(created, 'expires'), token: str(created, 'token') };
  if (ctx.output === 'json') {
    ctx.out(jsonText(result));
    return;
  }
  ctx.out(
    formatFields([
      ['id', result.id],
      ['node', result.node],
      ['expires', formatTimeCell(result.expires, ctx.now())],
      ['token', result.token],
    ]) + '\nThe token is shown only this once: put it in the agent config (server.auth_token) now.\n',
  );
}

/** `ximp agent token list [--node NODE]`. */
export async function agentTokenList(ctx: CommandContext): Promise<void> {
  const tokens = asList<AgentTokenJson>(await ctx.api.call('GET', `/api/v1/agent-tokens${queryString({ node: ctx.flags.node })}`));
  const rows = tokens.map((t) => ({
    id: str(t, 'id'),
    node: str(t, 'node'),
    status: str(t, 'status'),
    created: str(t, 'created'),
    expires: str(t, 'expires'),
    days_left: num(t, 'days_left'),
    last_used: str(t, 'last_used'),
  }));
  printList(ctx, LIST_COLUMNS, rows, (r, now) => [
        r.id,
        r.node,
        r.status,
        formatTimeCell(r.created, now),
        formatTimeCell(r.expires, now),
        r.days_left,
        formatTimeCell(r.last_used, now),
      ]);
}

/** A token ID from an argument; a whole token pasted by mistake gives its ID and a note, never the secret. */
function tokenIdArgument(ctx: CommandContext, arg: string): string {
  const full = parseAgentToken(arg);
  if (!full) return arg;
  ctx.err(`note: using the token ID ${full.id}; pass only the ID next time\n`);
  return full.id;
}

function closedSessions(entry: Answer<Pick<RevokedAgentTokenJson, 'closed_sessions'>>): { node: string | null; address: string | null }[] {
  return (Array.isArray(entry.closed_sessions) ? entry.closed_sessions : [])
    .filter((s): s is Answer<ClosedSessionJson> => s !== null && typeof s === 'object')
    .map((s) => ({ node: str(s, 'node'), address: str(s, 'address') }));
}

/**
 * `ximp agent token revoke TOKEN_ID [TOKEN_ID ...]`. One ID: exit 4 when unknown, 0 (and says so)
 * when already revoked. Several: revoked in one call per MAX_REVOKE_IDS, one row each; exit 4 when
 * any was unknown, the others revoked all the same.
 */
export async function agentTokenRevoke(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length > 1) return agentTokenRevokeMany(ctx);
  const id = tokenIdArgument(ctx, ctx.positionals[0]);
  if (!isAgentTokenId(id)) {
    throw new CliError(ExitCodes.NOT_FOUND, 'not found: a token ID is 12 characters of [a-z0-9]');
  }
  const result = asObject<RevokedAgentTokenJson>(await ctx.api.call('DELETE', `/api/v1/agent-tokens/${encodeURIComponent(id)}`));
  const closed = closedSessions(result);
  const already = str(result, 'status') === 'already_revoked';
  if (ctx.output === 'json') {
    if (already) ctx.err(`agent token ${id} was already revoked\n`);
    ctx.out(jsonText({ id, closed_sessions: closed }));
    return;
  }
  let text = already ? `agent token ${id} was already revoked\n` : `revoked agent token ${id}\n`;
  if (closed.length === 0) {
    text += 'no live sessions were open\n';
  } else {
    text += `closed ${closed.length} live session${closed.length === 1 ? '' : 's'}:\n`;
    text += formatTable(['NODE', 'ADDRESS'], closed.map((s) => [s.node, s.address]));
  }
  ctx.out(text);
}

interface RevokeRow {
  /** Null for an argument that is no token ID (not sent, and not printed: it may be a secret). */
  id: string | null;
  status: string | null;
  closed_sessions: { node: string | null; address: string | null }[];
}

async function agentTokenRevokeMany(ctx: CommandContext): Promise<void> {
  // Each distinct argument once, in order; a malformed one is not found without asking.
  const given = ctx.positionals.map((arg) => tokenIdArgument(ctx, arg));
  given.forEach((id, i) => {
    if (!isAgentTokenId(id)) ctx.err(`argument ${i + 1} is not a token ID (12 characters of [a-z0-9])\n`);
  });
  const args = [...new Set(given)];
  const rows: RevokeRow[] = args.map((id) => (isAgentTokenId(id) ? { id, status: null, closed_sessions: [] } : { id: null, status: 'not_found', closed_sessions: [] }));
  const asked = rows.filter((r) => r.id !== null);
  for (let from = 0; from < asked.length; from += MAX_REVOKE_IDS) {
    const chunk = asked.slice(from, from + MAX_REVOKE_IDS);
    const request: AgentTokenRevokeRequestJson = { ids: chunk.map((r) => r.id!) };
    let answer: Answer<AgentTokenRevokeAnswerJson>;
    try {
      answer = asObject<AgentTokenRevokeAnswerJson>(await ctx.api.call('POST', '/api/v1/agent-tokens/revoke', request));
    } catch (err) {
      // The calls before this one took effect: show them before the failure.
      if (from > 0) printRevokeRows(ctx, rows.filter((r) => r.status !== null));
      throw err;
    }
    const byId = new Map(asList<AgentTokenRevokeResultJson>(answer.results).map((entry) => [str(entry, 'id'), entry]));
    for (const row of chunk) {
      const entry = byId.get(row.id);
      if (entry === undefined) throw new CliError(ExitCodes.FAILED, `unexpected answer from the collector: no result for ${row.id}`);
      row.status = str(entry, 'status');
      row.closed_sessions = closedSessions(entry);
    }
  }
  printRevokeRows(ctx, rows);
  const unknown = rows.filter((r) => r.status === 'not_found').length;
  if (unknown > 0) {
    throw new CliError(ExitCodes.NOT_FOUND, `not found: ${unknown} of ${rows.length} token IDs (the others were revoked)`);
  }
}

function printRevokeRows(ctx: CommandContext, rows: readonly RevokeRow[]): void {
  printList(ctx, REVOKE_COLUMNS, [...rows], (r) => [r.id ?? '-', r.status, r.closed_sessions.length]);
}
