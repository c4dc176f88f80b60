import type { ApiClientJson, ApiClientSecretJson, CreatedApiClientJson, RevokedApiClientJson } from '@ximp/shared';
import { asList, asObject, jsonText, printList, str, type CommandContext } from './command-context';
import { printOnce } from './print-once';
import { formatTimeCell } from './relative-time';

const COLUMNS = ['ID', 'NAME', 'ROLE', 'NODES', 'CREATED', 'LAST-USED', 'STATUS'] as const;

/** How a client that may see every node shows in the NODES column. */
const ALL_NODES = 'all';

/** `ximp client create --name NAME --role ROLE [--nodes GLOB]`: prints the client ID and its secret once. */
export async function clientCreate(ctx: CommandContext): Promise<void> {
  const request: Record<string, string> = { name: ctx.flags.name, role: ctx.flags.role };
  if (ctx.flags.nodes !== undefined) request.nodes = ctx.flags.nodes;
  const created = asObject<CreatedApiClientJson>(await ctx.api.call('POST', '/api/v1/clients', request));
  const result = {
    client_id: str(created, 'client_id'),
    client_secret: str(created, 'client_secret'),
    name: str(created, 'name'),
    role: str(created, 'role'),
    nodes: str(created, 'nodes'),
  };
  printOnce(ctx, result, [
    ['client_id', result.client_id],
    ['client_secret', result.client_secret],
    ['name', result.name],
    ['role', result.role],
    ['nodes', result.nodes ?? ALL_NODES],
  ], 'The client secret is shown only this once: store it now.');
}

/** `ximp client list`. */
export async function clientList(ctx: CommandContext): Promise<void> {
  const clients = asList<ApiClientJson>(await ctx.api.call('GET', '/api/v1/clients'));
  const rows = clients.map((c) => ({
    id: str(c, 'id'),
    name: str(c, 'name'),
    role: str(c, 'role'),
    nodes: str(c, 'nodes'),
    created: str(c, 'created'),
    last_used: str(c, 'last_used'),
    status: str(c, 'status'),
  }));
  printList(ctx, COLUMNS, rows, (r, now) => [r.id, r.name, r.role, r.nodes ?? ALL_NODES, formatTimeCell(r.created, now), formatTimeCell(r.last_used, now), r.status]);
}

/** `ximp client revoke ID`: exit 4 for an unknown ID, 0 (and says so) when already revoked. */
export async function clientRevoke(ctx: CommandContext): Promise<void> {
  const id = ctx.positionals[0];
  const result = asObject<RevokedApiClientJson>(await ctx.api.call('DELETE', `/api/v1/clients/${encodeURIComponent(id)}`));
  const status = str(result, 'status') ?? 'revoked';
  if (ctx.output === 'json') {
    ctx.out(jsonText({ id, status }));
    return;
  }
  ctx.out(
    status === 'already_revoked'
      ? `API client ${id} was already revoked\n`
      : `revoked API client ${id}; its access tokens no longer work\n`,
  );
}

/** `ximp client rotate-secret ID`: prints the new secret once; exit 4 for an unknown ID, 1 for a revoked client. */
export async function clientRotateSecret(ctx: CommandContext): Promise<void> {
  const id = ctx.positionals[0];
  const rotated = asObject<ApiClientSecretJson>(await ctx.api.call('POST', `/api/v1/clients/${encodeURIComponent(id)}/rotate-secret`));
  const result = { client_id: str(rotated, 'client_id') ?? id, client_secret: str(rotated, 'client_secret') };
  printOnce(ctx, result, [
    ['client_id', result.client_id],
    ['client_secret', result.client_secret],
  ], 'The new client secret is shown only this once: store it now. The old one no longer works.');
}
