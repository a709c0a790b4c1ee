import t, { type Test } from 'tap';
import { openJobStore } from '../../src/main/jobStores.js';
import { statusSays } from '../fixtures/finishedSort.js';
import { onDamageableSorts, type DamageableSort } from '../fixtures/damageableSort.js';
import { runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** A ticket of a job no record declares (what a checkpoint's rerun leaves): its job's name cannot be told. */
const UNDECLARED = 'jobs/00000000-0000-4000-8000-000000000000';

/** The ids of the finished sort's tickets, by job name. */
async function ticketIds(store: DamageableSort): Promise<Map<string, string[]>> {
  const jobs = openJobStore(store.locator, store.options);
  const ids = new Map<string, string[]>();
  for await (const info of jobs.objects.list('jobs/')) {
    const id = info.key.slice('jobs/'.length);
    const name = (await jobs.readTicket(id))?.name ?? '';
    ids.set(name, [...(ids.get(name) ?? []), id]);
  }
  return ids;
}

/**
 * `toil debug-job` by name reads every ticket: a damaged one stops it only when its job may be the
 * one asked for (its own, by the job's declared name, or one whose job cannot be named when no
 * sound ticket names it); otherwise the job is found, and one stderr line says what was passed over.
 */
async function passesOver(t: Test, store: DamageableSort): Promise<void> {
  const { locator, options } = store;
  const debug = (...args: string[]) => runToil(['debug-job', locator, ...args], options);
  const ids = await ticketIds(store);
  const down = ids.get('down')![0]!;
  const up = ids.get('up')![0]!;
  await store.damage[0](`jobs/${down}`);

  const found = await debug('up', '--printJobInfo');
  t.equal(found.code, 0, `another job's damaged ticket passed over: ${found.stderr}`);
  t.match(found.stdout, /^job: +up$/m);
  t.equal(
    found.stderr,
    `toil: 1 other ticket of job store ${locator} is damaged and could not be read ('toil status ${locator}' lists it)\n`,
  );
  const absent = await debug('nosuch');
  t.equal(absent.code, 2, 'a name no job has, the damaged ticket being of a down job');
  t.equal(
    absent.stderr,
    `toil: no job named 'nosuch' or with that id in job store ${locator}; job names: down, setup, up\n`,
  );
  const shared = await debug('down');
  t.equal(shared.code, 2, 'a name of three jobs, one of them with the damaged ticket');
  t.match(
    shared.stderr,
    `toil: job name 'down' matches 3 jobs in job store ${locator}: give one of their ids: `,
  );
  t.match(shared.stderr, down, 'the job of the damaged ticket named among them');

  await store.damage[1](`jobs/${up}`);
  const own = await debug('up');
  t.equal(own.code, 2, "the job's own ticket damaged, asked for by name");
  t.equal(own.stderr, await statusSays(t, locator, `jobs/${up}`, options), 'said as toil status says it');
  const other = await debug('setup', '--printJobInfo');
  t.equal(other.code, 0, `two damaged tickets passed over: ${other.stderr}`);
  t.match(other.stdout, /^job: +setup$/m);
  t.equal(
    other.stderr,
    `toil: 2 other tickets of job store ${locator} are damaged and could not be read ('toil status ${locator}' lists them)\n`,
  );

  await store.objects.put(UNDECLARED, 'not json');
  const unknown = await debug('nosuch');
  t.equal(unknown.code, 2, 'a name not among the sound tickets, a damaged one of an unnamed job could be it');
  t.equal(
    unknown.stderr,
    (await statusSays(t, locator, UNDECLARED, options)).trimEnd() +
      `; job 'nosuch' not found among the sound tickets; 1 damaged ticket could not be read, whose job may be it ('toil status ${locator}' lists it)\n`,
  );
  const still = await debug('setup', '--printJobInfo');
  t.equal(still.code, 0, `three damaged tickets passed over: ${still.stderr}`);
  t.match(still.stdout, /^job: +setup$/m);
  t.equal(
    still.stderr,
    `toil: 3 other tickets of job store ${locator} are damaged and could not be read ('toil status ${locator}' lists them); the job name of 1 of them cannot be told, so 'setup' may name another job too: give a job id to be sure\n`,
  );
}

onDamageableSorts(
  'toil debug-job by name passes over the damaged tickets that cannot be the job',
  'passed-over',
  passesOver,
);
