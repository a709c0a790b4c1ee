import t from 'tap';
import { progressCounts } from '../../src/leader/consoleOutput.js';
import { HeldJobs } from '../../src/leader/heldJobs.js';

/**
 * The jobs a limit (--maxJobs, --maxServiceJobs) holds back: taken oldest first, each held once,
 * and a checkpoint's forgotten ones dropped without disturbing the others' order. Its cost at
 * 100,000 jobs against the array it replaces: `npm run bench -- heldJobs`.
 */
t.test('held jobs are taken oldest first, each once, however many are held and taken', async (t) => {
  const held = new HeldJobs();
  const n = 100_000;
  for (let i = 0; i < n; i++) held.hold(`j${i}`);
  held.hold('j0');
  held.hold(`j${n - 1}`);
  t.equal(held.size, n, 'holding one already held does not add it again');
  t.ok(held.has('j5') && !held.has(`j${n}`));
  // Taken in runs with holds between (as slots free and new jobs become ready), past the point
  // where the taken part is dropped from the array.
  const taken: string[] = [];
  for (let i = 0; i < 3000; i++) taken.push(held.takeOldest()!);
  held.hold('late');
  for (let id = held.takeOldest(); id !== undefined; id = held.takeOldest()) taken.push(id);
  t.equal(taken.length, n + 1);
  t.same(taken.slice(0, 3), ['j0', 'j1', 'j2']);
  t.equal(taken[n - 1], `j${n - 1}`);
  t.equal(taken[n], 'late', 'held after the others: taken after them');
  t.equal(new Set(taken).size, n + 1, 'none taken twice');
  t.equal(held.size, 0);
  t.equal(held.takeOldest(), undefined, 'none left');
  t.notOk(held.has('j0'), 'a taken job is no longer held');
  held.hold('j0');
  t.equal(held.takeOldest(), 'j0', 'and may be held again');
});

t.test('forgotten jobs are dropped; the rest keep their order; takeAll empties', async (t) => {
  const held = new HeldJobs();
  for (const id of ['a', 'b', 'c', 'd', 'e']) held.hold(id);
  t.equal(held.takeOldest(), 'a');
  held.forget(new Set(['c', 'x']));
  t.equal(held.size, 3);
  t.notOk(held.has('c'));
  held.hold('c');
  t.same(held.takeAll(), ['b', 'd', 'e', 'c'], 'c held again goes last');
  t.equal(held.size, 0);
  t.same(held.takeAll(), []);
});

t.test('the progress line names the held jobs apart, only when there are some', async (t) => {
  t.equal(
    progressCounts({ known: 9, completed: 2, running: 1, waiting: 1, held: 5, failed: 0 }),
    '2/9 jobs, 1 running, 1 waiting to start, 5 held by a job limit',
  );
  t.equal(progressCounts({ known: 9, completed: 2, running: 1, failed: 0 }), '2/9 jobs, 1 running');
});
