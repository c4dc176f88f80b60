import { isAgentTokenId, parseAgentToken } from '@ximp/shared';
import { CliError } from './cli-error';
import { asList, asObject, jsonText, num, printList, queryString, str, type CommandContext } from './command-context';
import { ExitCodes } from './exit-codes';
import { formatTimeCell } from './relative-time';
import { formatFields, formatTable } from './table';

const LIST_COLUMNS = ['ID', 'NODE', 'STATUS', 'CREATED', 'EXPIRES', 'DAYS-LEFT', 'LAST-USED'] as const;

/** `ximp agent token create --node NODE [--expires 365d]`. */
export async function agentTokenCreate(ctx: CommandContext): Promise<void> {
  const request: Record<string, string> = { node: ctx.flags.node };
  if (ctx.flags.expires !== undefined) request.expires = ctx.flags.expires;
  const created = asObject(await ctx.api.call('POST', '/api/v1/agent-tokens', request));
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
  const tokens = asList(await ctx.api.call('GET', `/api/v1/agent-tokens${queryString({ node: ctx.flags.node })}`));
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

/** `ximp agent token revoke TOKEN_ID`: exit 4 for an unknown ID, 0 (and says so) when already revoked. */
export async function agentTokenRevoke(ctx: CommandContext): Promise<void> {
  let id = ctx.positionals[0];
  const full = parseAgentToken(id);
  if (full) {
    // A whole token pasted by mistake: use its ID and keep the secret off the wire.
    id = full.id;
    ctx.err(`note: using the token ID ${id}; pass only the ID next time\n`);
  }
  if (!isAgentTokenId(id)) {
    throw new CliError(ExitCodes.NOT_FOUND, 'not found: a token ID is 12 characters of [a-z0-9]');
  }
  const result = asObject(await ctx.api.call('DELETE', `/api/v1/agent-tokens/${encodeURIComponent(id)}`));
  const closed = (Array.isArray(result.closed_sessions) ? result.closed_sessions : [])
    .filter((s): s is Record<string, unknown> => s !== null && typeof s === 'object')
    .map((s) => ({ node: str(s, 'node'), address: str(s, 'address') }));
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
