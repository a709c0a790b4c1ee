import t, { type Test } from 'tap';
import { onDamageableStores, type DamageableSort } from '../fixtures/damageableSort.js';
import { esc, failedTree, treeJobs, unissuedAndAbsentSay } from '../fixtures/failedTree.js';
import { runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * The leader record says whether a leader took the workflow up after the run whose outcome names
 * the jobs failed for good: damaged, it leaves that unknown, and nothing else. `toil debug-job`
 * runs and prints a job past it, saying on stderr what it leaves unknown of the job; it stops only
 * where the answer hangs on it (a name of several jobs, one of which the outcome names failed); a
 * job not found is said as such, with what the damage leaves unknown, and the damaged records that
 * may declare it.
 */
async function passesOverLeaderRecord(t: Test, store: DamageableSort): Promise<void> {
  const { locator, options } = store;
  const debug = (...args: string[]) => runToil(['debug-job', locator, ...args], options);
  const { failed, ran, waiting, root } = await treeJobs(t, store);
  const picked = await debug('add', '--printJobInfo');
  t.match(picked.stdout, `id:            ${failed}\n`, 'with the record sound, add names the failed one');

  await store.damage[0]('leader.json');
  const status = await runToil(['status', locator], options);
  t.match(status.stdout, /^ {2}leader\.json: /m, 'toil status lists the leader record, as the notice says');
  const notice = `toil: the leader record leader.json of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it); `;

  const own = await debug(failed, '--printJobInfo');
  t.equal(own.code, 0, `the failed job's facts printed: ${own.stderr}`);
  t.equal(
    own.stderr,
    `${notice}whether job 'add' (${failed}) failed for good in the last run cannot be told: a run's outcome records that it did, and only the leader record tells whether a leader took the workflow up since\n`,
  );
  t.match(
    own.stdout,
    /^failed: +1 attempt\(s\) logged; failed for good in the last run: unknown \(leader\.json is damaged: a run's outcome records that it did, and only leader\.json tells whether a leader took the workflow up since\)$/m,
  );
  t.match(own.stdout, /^ran: +no \(no commit in the job store\)$/m, 'the rest is printed');

  const other = await debug(ran, '--printJobInfo');
  t.equal(other.code, 0, `a job the outcome does not name: ${other.stderr}`);
  t.equal(
    other.stderr,
    `${notice}passed over: it only tells whether the failures a run's outcome records still stand, and job 'add' (${ran}) is not among them\n`,
  );
  t.match(other.stdout, /^failed: +0 attempt\(s\) logged$/m, 'it did not fail for good, which is known');

  const run = await debug(failed);
  t.equal(run.code, 0, `the failed job run here: ${run.stderr}`);
  t.match(run.stderr, `toil: job 'add' (${failed}) returned (not committed)\n`);

  const byName = await debug('add');
  t.equal(byName.code, 2, 'a name of two jobs, one of which the outcome names failed: the pick hangs on it');
  t.match(
    byName.stderr,
    new RegExp(
      `^toil: job store ${esc(locator)} is damaged: object leader\\.json [^\\n]+; job name 'add' matches 2 jobs, and which to pick cannot be told: a run's outcome records one of them, ${failed}, as failed for good, and only leader\\.json tells whether a leader took the workflow up since; give one of their ids: [0-9a-f-]+, [0-9a-f-]+\\n$`,
    ),
  );
  t.match(byName.stderr, ran, 'both named');
  const trees = await debug('tree');
  t.equal(trees.code, 2, 'a name of jobs none of which failed: ambiguous as with the record sound');
  t.match(
    trees.stderr,
    new RegExp(`^toil: job name 'tree' matches 7 jobs in job store ${esc(locator)}: give`),
  );

  const unsure = `leader.json is damaged, so whether add (${failed}), which a run's outcome records as failed for good, still is cannot be told (a leader may have taken the workflow up since)`;
  await unissuedAndAbsentSay(t, store, waiting, unsure);

  // Without the workflow record no job's declaration can be replayed: it may hold the one asked for.
  await store.damage[0]('workflow.json');
  const hidden = await debug(waiting);
  t.equal(hidden.code, 2, 'a job of the workflow not found, the records that declare it damaged');
  t.equal(
    hidden.stderr,
    `toil: no job named '${waiting}' or with that id in job store ${locator}; job names: add, tree; the workflow record is damaged and may declare it ('toil status ${locator}' lists it); ${unsure}\n`,
  );
  await store.damage[0](`commits/${root}`);
  const both = await debug('nosuch');
  t.equal(both.code, 2);
  t.equal(
    both.stderr,
    `toil: no job named 'nosuch' or with that id in job store ${locator}; job names: add, tree; the workflow record and 1 commit are damaged and may declare it ('toil status ${locator}' lists them); ${unsure}\n`,
  );

  await store.damage[1]('outcome.json');
  const neither = await debug(failed, '--printJobInfo');
  t.equal(neither.code, 0, `the run's outcome damaged too: ${neither.stderr}`);
  t.equal(
    neither.stderr,
    `toil: the run's outcome outcome.json of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it); whether job 'add' (${failed}) failed for good in the last run cannot be told: only that outcome records which jobs did\n` +
      `${notice}passed over: it only tells whether the failures a run's outcome records still stand, and that outcome (outcome.json) is damaged too\n`,
  );
  t.match(
    neither.stdout,
    /^failed: +1 attempt\(s\) logged; failed for good in the last run: unknown \(outcome\.json is damaged: only it records which jobs failed for good in the last run\)$/m,
  );
}

onDamageableStores(
  'toil debug-job passes over a damaged leader record, stopping only where the job asked for hangs on it',
  'leader-record',
  failedTree,
  passesOverLeaderRecord,
);
