import { jsonText, type CommandContext } from './command-context';
import { formatFields } from './table';

/** A new secret: JSON as it came, or the fields and a reminder that it is shown this once. */
export function printOnce(ctx: CommandContext, result: object, fields: [string, string | null][], note: string): void {
  if (ctx.output === 'json') {
    ctx.out(jsonText(result));
    return;
  }
  ctx.out(`${formatFields(fields)}\n${note}\n`);
}
