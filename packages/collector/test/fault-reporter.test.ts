import t from 'tap';
import { XimpError, ErrorCodes, type Logger } from '@ximp/shared';
import { FaultReporter } from '../src/fault-reporter';

function recordingLog(): { log: Logger; lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => log } as unknown as Logger;
  return { log, lines };
}

t.test('one line per kind per minute, every fault counted by kind', async (t) => {
  let now = 0;
  const { log, lines } = recordingLog();
  const faults = new FaultReporter({ log, now: () => now });
  for (let i = 0; i < 100; i++) faults.report('store_commit', new XimpError(ErrorCodes.STORE_FAILED, 'disk I/O error'), { node: 'n1' });
  faults.report('upgrade', new Error('busy'));
  t.equal(lines.length, 2, 'one line per kind');
  t.equal(lines[0].level, 'error');
  t.match(lines[0].obj, { kind: 'store_commit', node: 'n1', count: 1, err: { message: 'disk I/O error', code: ErrorCodes.STORE_FAILED } });
  t.equal(faults.total('store_commit'), 100);
  t.same([...faults.totals()], [['store_commit', 100], ['upgrade', 1]]);
  now += 60_000;
  faults.report('store_commit', 'not an error object');
  t.equal(lines.length, 3, 'a new window writes a new line');
  t.match(lines[2].obj, { count: 100, err: { message: 'not an error object' } }, 'the line carries the faults folded into it');
});
