import type { CreatedUserJson, UserJson, UserListJson, UserPasswordJson } from '@ximp/shared';
import { asObject, jsonText, printList, str, type CommandContext } from './command-context';
import { CliError } from './cli-error';
import { ExitCodes } from './exit-codes';
import { printOnce } from './print-once';
import { formatTimeCell } from './relative-time';

const COLUMNS = ['NAME', 'ROLE', 'NODES', 'STATUS', 'PASSWORD', 'CREATED', 'LAST-LOGIN'] as const;

/** How a user who may see every node shows in the NODES column. */
const ALL_NODES = 'all';
const FIRST_SIGN_IN = 'The password is shown only this once: give it to the user, who must change it at the first sign-in.';

/** `ximp user create --name NAME --role ROLE [--nodes GLOB]`: prints the one-time password once. */
export async function userCreate(ctx: CommandContext): Promise<void> {
  const request: Record<string, string> = { name: ctx.flags.name, role: ctx.flags.role };
  if (ctx.flags.nodes !== undefined) request.nodes = ctx.flags.nodes;
  const created = asObject<CreatedUserJson>(await ctx.api.call('POST', '/api/v1/users', request));
  const result = { name: str(created, 'name'), role: str(created, 'role'), nodes: str(created, 'nodes'), password: str(created, 'password') };
  printOnce(ctx, result, [
    ['name', result.name],
    ['role', result.role],
    ['nodes', result.nodes ?? ALL_NODES],
    ['password', result.password],
  ], FIRST_SIGN_IN);
}

/** `ximp user list`: with --output json the users as the API lists them. */
export async function userList(ctx: CommandContext): Promise<void> {
  const body = asObject<UserListJson>(await ctx.api.call('GET', '/api/v1/users'));
  if (!Array.isArray(body.users)) throw new CliError(ExitCodes.FAILED, 'unexpected answer from the collector: expected {users: [...]}');
  const rows = (body.users as unknown[]).map((u) => {
    const user = asObject<UserJson>(u);
    return {
      name: str(user, 'name'),
      role: str(user, 'role'),
      nodes: str(user, 'nodes'),
      disabled: user.disabled === true,
      must_change_password: user.must_change_password === true,
      created_at: str(user, 'created_at'),
      last_login_at: str(user, 'last_login_at'),
    };
  });
  printList(ctx, COLUMNS, rows, (r, now) => [
    r.name,
    r.role,
    r.nodes ?? ALL_NODES,
    r.disabled ? 'disabled' : 'active',
    r.must_change_password ? 'must-change' : 'set',
    formatTimeCell(r.created_at, now),
    formatTimeCell(r.last_login_at, now),
  ]);
}

/** `ximp user disable NAME`: the user's sessions end at once; exit 4 for an unknown name. */
export async function userDisable(ctx: CommandContext): Promise<void> {
  const name = ctx.positionals[0];
  await ctx.api.call('DELETE', `/api/v1/users/${encodeURIComponent(name)}`);
  if (ctx.output === 'json') {
    ctx.out(jsonText({ name, disabled: true }));
    return;
  }
  ctx.out(`disabled user ${name}; its dashboard sessions are closed\n`);
}

/** `ximp user reset-password NAME`: a new one-time password, shown once; the user's sessions end. */
export async function userResetPassword(ctx: CommandContext): Promise<void> {
  const name = ctx.positionals[0];
  const reset = asObject<UserPasswordJson>(await ctx.api.call('POST', `/api/v1/users/${encodeURIComponent(name)}/reset-password`));
  const result = { name: str(reset, 'name') ?? name, password: str(reset, 'password') };
  printOnce(ctx, result, [
    ['name', result.name],
    ['password', result.password],
  ], `${FIRST_SIGN_IN} Its dashboard sessions are closed.`);
}
