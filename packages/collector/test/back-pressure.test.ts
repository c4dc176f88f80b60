/**
 * Sessions held back by a full remote-store queue are let go (closed with 1013 so their agents
 * replay at once) only when every queue has room again, and the refusal is logged once a minute.
 */
import t from 'tap';
import { CloseCodes, ThrottledLog } from '@ximp/shared';
import { BackPressure, type HeldSession } from '../src/ingest/back-pressure';
import { captureLogger } from '../../../test/helpers/system';

function session(node: string): HeldSession & { closed: { code: number; reason: string }[] } {
  const closed: { code: number; reason: string }[] = [];
  return { node, closed, close: (code, reason) => void closed.push({ code, reason }) };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

t.test('held sessions are closed with 1013 once every queue has room, not before', async (t) => {
  const rooms = [{ room: false }, { room: true }];
  const targets = [{ name: 'a', hasRoom: () => rooms[0].room }, { name: 'b', hasRoom: () => rooms[1].room }];
  const { log: logger, lines } = captureLogger('collector');
  const log = new ThrottledLog({ log: logger, now: Date.now });
  const bp = new BackPressure({ targets, log, pollMs: 5 });
  t.teardown(() => bp.stop());
  const s1 = session('web-1');
  const s2 = session('web-2');
  bp.hold(s1, 'queue of "a" full');
  bp.hold(s2, 'queue of "a" full');
  t.ok(bp.full());
  t.same([...bp.heldNodes()].sort(), ['web-1', 'web-2']);
  await new Promise((r) => setTimeout(r, 40));
  t.same(s1.closed, [], 'not let go while a queue is full');
  t.equal(lines.filter((l) => l.includes('queue full')).length, 1, 'one log line for both');
  t.equal(log.total('queue_full'), 2, 'both counted');

  rooms[0].room = true;
  await until(() => s1.closed.length > 0 && s2.closed.length > 0);
  t.equal(s1.closed[0]?.code, CloseCodes.TRY_AGAIN_LATER);
  t.equal(s2.closed[0]?.code, CloseCodes.TRY_AGAIN_LATER);
  t.equal(bp.heldNodes().size, 0);
  t.notOk(bp.full());
});

t.test('a held session that ends on its own is forgotten', async (t) => {
  const { log: logger } = captureLogger('collector');
  const bp = new BackPressure({ targets: [{ name: 'a', hasRoom: () => true }], log: new ThrottledLog({ log: logger, now: Date.now }), pollMs: 1000 });
  t.teardown(() => bp.stop());
  const s = session('web-1');
  bp.hold(s, 'full');
  bp.release(s);
  t.equal(bp.heldNodes().size, 0);
  t.same(s.closed, []);
});
