import t from 'tap';
import { INACTIVE, stepAlert, type AlertInstance, type AlertTransition } from '../src/alerting/alert-state';

/** Runs the condition sequence one evaluation per `everyMs`; returns each step's transition. */
function run(holds: boolean[], forMs: number, everyMs = 15_000): { transitions: (AlertTransition | null)[]; last: AlertInstance } {
  let state: AlertInstance = INACTIVE;
  const transitions: (AlertTransition | null)[] = [];
  holds.forEach((h, i) => {
    const step = stepAlert(state, h, h ? i : null, forMs, 1_000_000 + i * everyMs);
    transitions.push(step.transition);
    state = step.next;
  });
  return { transitions, last: state };
}

t.test('for: 0 fires at the first evaluation that holds, resolves at the first that does not', async (t) => {
  const { transitions } = run([false, true, true, false, false], 0);
  t.same(transitions, [null, 'firing', null, 'resolved', null]);
});

t.test('pending for `for`, then firing; the time counts from the first evaluation that held', async (t) => {
  const { transitions, last } = run([true, true, true, true, true], 30_000);
  t.same(transitions, ['pending', null, 'firing', null, null]);
  t.equal(last.status, 'firing');
  t.equal(last.activeSince, 1_000_000);
  t.equal(last.firedAt, 1_030_000);
  t.equal(last.value, 4, 'the latest value is kept');
});

t.test('a pending alert whose condition stops holding never fires; the next run starts over', async (t) => {
  const { transitions } = run([true, true, false, true, true, true], 30_000);
  t.same(transitions, ['pending', null, 'cleared', 'pending', null, 'firing']);
});

t.test('an inactive alert with a false condition stays as it is', async (t) => {
  const step = stepAlert(INACTIVE, false, null, 0, 5);
  t.equal(step.next, INACTIVE);
  t.equal(step.transition, null);
});
