import type { RetentionJson } from '@ximp/shared';
import { asObject, jsonText, num, str, type CommandContext } from './command-context';
import { formatTable } from './table';

const COLUMNS = ['RETENTION', 'RETENTION-SECONDS', 'SOURCE'] as const;
const PATH = '/api/v1/store/retention';

/** The retention as printed; JSON keys are the table's columns in snake_case (SPEC §6). */
interface Retention {
  retention: string | null;
  retention_seconds: number | null;
  source: string | null;
}

function retentionOf(body: unknown): Retention {
  const obj = asObject<RetentionJson>(body);
  return { retention: str(obj, 'retention'), retention_seconds: num(obj, 'retention_seconds'), source: str(obj, 'source') };
}

function print(ctx: CommandContext, r: Retention, note: string): void {
  if (ctx.output === 'json') {
    ctx.out(jsonText(r));
    return;
  }
  ctx.out(formatTable(COLUMNS, [[r.retention, r.retention_seconds, r.source]]) + note);
}

/** `ximp store retention` and `ximp store retention get`: the retention in force and its source. */
export async function storeRetentionGet(ctx: CommandContext): Promise<void> {
  print(ctx, retentionOf(await ctx.api.call('GET', PATH)), '');
}

/** `ximp store retention set DURATION` (monitoring-admin; parseArgs checked DURATION). */
export async function storeRetentionSet(ctx: CommandContext): Promise<void> {
  const r = retentionOf(await ctx.api.call('PUT', PATH, { retention: ctx.positionals[0] }));
  print(ctx, r, 'The next retention pass (hourly) deletes samples older than this.\n');
}
