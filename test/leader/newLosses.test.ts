import t from 'tap';
import type { LostAttemptRecord } from '../../src/jobstore/jobRecords.js';
import { MAX_LOST_LISTED } from '../../src/leader/lostAttempts.js';
import { NewLosses } from '../../src/leader/newLosses.js';

/**
 * What `toil run --leader` says of a run's lost attempts as it polls the run's status: each once,
 * when first listed, however many polls list it again; a burst past what the leader lists is
 * counted, not lost; a restarted leader's losses (counted anew) are said too.
 */
const lost = (n: number, at = 1000 + n): LostAttemptRecord => ({
  jobId: `job-${n}`,
  name: `j${n}`,
  attempt: 1,
  at,
  why: `its node is gone on n${n}`,
  next: 'spot',
});
const names = (r: { fresh: LostAttemptRecord[] }): string[] => r.fresh.map((l) => l.name);

t.test('a loss listed at every poll is said at the first only', async (t) => {
  const said = new NewLosses();
  t.same(said.take({}), { fresh: [], unlisted: 0 }, 'none lost: nothing to say');
  t.same(names(said.take({ lostCount: 1, lost: [lost(1)] })), ['j1'], 'the first poll listing it says it');
  t.same(said.take({ lostCount: 1, lost: [lost(1)] }), { fresh: [], unlisted: 0 }, 'the next says nothing');
  const next = said.take({ lostCount: 3, lost: [lost(1), lost(2), lost(3)] });
  t.same(names(next), ['j2', 'j3'], 'two more: those two, oldest first');
  t.equal(next.unlisted, 0);
});

t.test("a burst past the leader's list: the listed ones said, the rest counted", async (t) => {
  const said = new NewLosses();
  said.take({ lostCount: 1, lost: [lost(0)] });
  const listed = Array.from({ length: MAX_LOST_LISTED }, (_, i) => lost(i + 6));
  const r = said.take({ lostCount: 26, lost: listed });
  t.equal(r.fresh.length, MAX_LOST_LISTED, 'every listed one is new');
  t.equal(r.unlisted, 5, '25 lost since the last poll, 20 listed: 5 counted only');
});

t.test('a restarted leader counts its losses anew: its first is said', async (t) => {
  const said = new NewLosses();
  said.take({ lostCount: 2, lost: [lost(1), lost(2)] });
  const r = said.take({ lostCount: 1, lost: [lost(1, 5000)] });
  t.same(names(r), ['j1'], 'the same job lost again under the new leader is a new loss');
  t.equal(r.unlisted, 0);
});
