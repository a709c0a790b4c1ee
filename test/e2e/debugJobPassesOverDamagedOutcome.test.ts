import t, { type Test } from 'tap';
import { onDamageableStores, type DamageableSort } from '../fixtures/damageableSort.js';
import { esc, failedTree, treeJobs, unissuedAndAbsentSay } from '../fixtures/failedTree.js';
import { runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * The run's outcome alone records which jobs failed for good: damaged (the leader record sound),
 * it leaves that unknown of every job, and nothing else. `toil debug-job` runs and prints a job
 * past it, saying on stderr that whether the job failed for good cannot be told (it was taken as
 * not failed, without a word); it stops only where the pick hangs on it (a name of several jobs,
 * which picks the one that failed), saying what becomes of the record, not to restore it; a job
 * not found or never issued is said as such, with what the damage leaves unknown.
 */
async function passesOverOutcome(t: Test, store: DamageableSort): Promise<void> {
  const { locator, options } = store;
  const debug = (...args: string[]) => runToil(['debug-job', locator, ...args], options);
  const { failed, ran, waiting } = await treeJobs(t, store);
  const picked = await debug('add', '--printJobInfo');
  t.match(picked.stdout, `id:            ${failed}\n`, 'with the outcome sound, add names the failed one');
  t.match(picked.stdout, /^failed: +1 attempt\(s\) logged; failed for good in the last run$/m);

  await store.damage[0]('outcome.json');
  const status = await runToil(['status', locator], options);
  t.match(status.stdout, /^ {2}outcome\.json: /m, 'toil status lists the outcome, as the notice says');
  const notice = (id: string) =>
    `toil: the run's outcome outcome.json of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it); whether job 'add' (${id}) failed for good in the last run cannot be told: only that outcome records which jobs did\n`;
  const unknown =
    /^failed: +1 attempt\(s\) logged; failed for good in the last run: unknown \(outcome\.json is damaged: only it records which jobs failed for good in the last run\)$/m;

  const own = await debug(failed, '--printJobInfo');
  t.equal(own.code, 0, `the failed job's facts printed: ${own.stderr}`);
  t.equal(own.stderr, notice(failed), 'one line: what the damaged outcome leaves unknown of the job');
  t.match(own.stdout, unknown, 'its failure for good printed as unknown, not as no failure');
  t.match(own.stdout, /^ran: +no \(no commit in the job store\)$/m, 'the rest is printed');

  const other = await debug(ran, '--printJobInfo');
  t.equal(other.code, 0, `a job that ran: ${other.stderr}`);
  t.equal(other.stderr, notice(ran), 'a committed job may have failed for good too (in values it returned)');
  t.match(other.stdout, /^failed: +0 attempt\(s\) logged; failed for good in the last run: unknown \(/m);

  const run = await debug(failed);
  t.equal(run.code, 0, `the failed job run here: ${run.stderr}`);
  t.match(run.stderr, new RegExp(`^${esc(notice(failed))}toil: running job 'add' \\(${failed}\\) here;`));
  t.match(run.stderr, `toil: job 'add' (${failed}) returned (not committed)\n`);

  for (const [name, count] of [
    ['add', 2],
    ['tree', 7],
  ] as const) {
    const byName = await debug(name);
    t.equal(byName.code, 2, `a name of ${count} jobs: the pick hangs on which of them failed`);
    t.match(
      byName.stderr,
      new RegExp(
        `^toil: job store ${esc(locator)} is damaged: object outcome\\.json [^\\n]+ \\(nothing to restore: it only says how the last leader's run ended, and the next run \\('toil run WORKFLOW JOBSTORE --restart'\\) writes it again\\); job name '${name}' matches ${count} jobs, and which to pick cannot be told: only the run's outcome \\(outcome\\.json\\) records which of them failed for good; give one of their ids: (?:[0-9a-f-]+, ){${count - 1}}[0-9a-f-]+\\n$`,
      ),
    );
  }
  const both = await debug('add');
  t.match(both.stderr, failed, 'the failed add named');
  t.match(both.stderr, ran, 'the add that ran named');

  const unsure =
    'outcome.json is damaged, so which jobs failed for good in the last run, if any did, cannot be told';
  await unissuedAndAbsentSay(t, store, waiting, unsure);
}

onDamageableStores(
  'toil debug-job passes over a damaged run outcome, saying what it leaves unknown, stopping only where the pick hangs on it',
  'outcome',
  failedTree,
  passesOverOutcome,
);
