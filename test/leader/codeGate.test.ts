import t from 'tap';
import { CodeGate } from '../../src/leader/codeGate.js';

/**
 * Workflow code calls through the gate: calls of runs not under suspicion run together; a call
 * that must run alone waits for those inside, and calls asked for after it wait for it.
 */
const settled = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('calls that need not run alone are all let in at once', async (t) => {
  const gate = new CodeGate();
  const leaves = await Promise.all([gate.enter(false), gate.enter(false), gate.enter(false)]);
  t.equal(leaves.length, 3);
});

t.test('a call that must run alone waits for those inside, and later calls wait for it', async (t) => {
  const gate = new CodeGate();
  const order: string[] = [];
  const leaveA = await gate.enter(false);
  order.push('a in');
  const alone = gate.enter(true).then((leave) => (order.push('alone in'), leave));
  const later = gate.enter(false).then((leave) => (order.push('later in'), leave));
  await settled();
  t.same(order, ['a in'], 'neither the lone call nor the one after it is in while a runs');
  leaveA();
  const leaveAlone = await alone;
  await settled();
  t.same(order, ['a in', 'alone in'], 'the lone call is in, by itself');
  leaveAlone();
  const leaveLater = await later;
  t.same(order, ['a in', 'alone in', 'later in'], 'then the call asked for after it');
  // A leave called again is not a second leave: the later call is still inside.
  leaveAlone();
  let secondAloneIn = false;
  const secondAlone = gate.enter(true).then((leave) => ((secondAloneIn = true), leave));
  await settled();
  t.notOk(secondAloneIn, 'another lone call waits for the later one');
  leaveLater();
  (await secondAlone)();
  t.ok(secondAloneIn);
});
