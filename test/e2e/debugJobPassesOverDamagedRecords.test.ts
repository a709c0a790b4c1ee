import t, { type Test } from 'tap';
import { openJobStore } from '../../src/main/jobStores.js';
import { onDamageableSorts, type DamageableSort } from '../fixtures/damageableSort.js';
import { runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** The finished sort's jobs: `setup`; the `down` it made, which split the input; a `down` that sorted a half; `up`. */
interface SortJobs {
  readonly setup: string;
  readonly split: string;
  readonly leaf: string;
  readonly up: string;
}

async function sortJobs(store: DamageableSort): Promise<SortJobs> {
  const jobs = openJobStore(store.locator, store.options);
  const byName = new Map<string, string[]>();
  let split: string | undefined;
  for await (const info of jobs.objects.list('commits/')) {
    const id = info.key.slice('commits/'.length);
    const commit = (await jobs.readCommit(id))!;
    const name = (await jobs.readTicket(id))!.name;
    byName.set(name, [...(byName.get(name) ?? []), id]);
    if (name === 'down' && commit.newJobs.length > 0) split = id;
  }
  return {
    setup: byName.get('setup')![0]!,
    split: split!,
    leaf: byName.get('down')!.find((id) => id !== split)!,
    up: byName.get('up')![0]!,
  };
}

/** The line a damaged record that stops `toil debug-job` gives: the one `toil status` refers to. */
function damagedLine(locator: string, key: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^toil: job store ${esc(locator)} is damaged: object ${esc(key)} [^\\n]+ \\(run 'toil status ${esc(locator)}' to list every damaged object; restore them, or run 'toil clean ${esc(locator)}' and start the workflow again\\)\\n$`,
  );
}

/**
 * `toil debug-job --printJobInfo` reads the workflow record and every commit to tell whether the
 * job is a checkpoint: a damaged one of another job leaves that unknown, saying why, and the rest
 * is printed; the job's own commit damaged still stops it. Running a job reads none of them (its
 * ticket holds its input, the return values it takes included), so damage there stops no run. A
 * job not found is said so, naming them, as they may declare it.
 */
async function passesOverRecords(t: Test, store: DamageableSort): Promise<void> {
  const { locator, options } = store;
  const debug = (...args: string[]) => runToil(['debug-job', locator, ...args], options);
  const { setup, split, leaf, up } = await sortJobs(store);
  const info = async (job: string, what: string) => {
    const r = await debug(job, '--printJobInfo');
    t.equal(r.code, 0, `${what}: ${r.stderr}`);
    t.equal(r.stderr, '', `${what}: nothing on stderr`);
    t.match(r.stdout, /^ran: +yes: committed by attempt 1 /m, `${what}: the rest is printed`);
    return r.stdout.split('\n').find((l) => l.startsWith('checkpoint:'));
  };
  const runs = async (query: string, name: string, id: string, what: string) => {
    const r = await debug(query);
    t.equal(r.code, 0, `${what}: ${r.stderr}`);
    t.match(r.stderr, `toil: job '${name}' (${id}) returned (not committed)\n`, what);
  };

  await store.damage[1]('workflow.json');
  t.equal(
    await info('setup', 'the workflow record damaged, which declared the job'),
    `checkpoint:    unknown (the workflow record is damaged and may hold its declaration; 'toil status ${locator}' lists it)`,
  );
  t.equal(await info('up', 'the workflow record damaged, a commit declared the job'), 'checkpoint:    no');
  await runs('setup', 'setup', setup, 'a job run with the workflow record damaged');
  const absent = async (what: string, damaged: string) => {
    const r = await debug('nosuch');
    t.equal(r.code, 2, what);
    t.equal(
      r.stderr,
      `toil: no job named 'nosuch' or with that id in job store ${locator}; job names: down, setup, up; ${damaged} ('toil status ${locator}' lists ${damaged.includes(' is ') ? 'it' : 'them'})\n`,
      `${what}: the damaged records that may declare it named`,
    );
  };
  await absent('a job not found', 'the workflow record is damaged and may declare it');

  // A commit of a job that sorted a half: `up` takes its return value, through its ticket.
  await store.damage[0](`commits/${leaf}`);
  t.equal(await info('up', "another job's commit damaged"), 'checkpoint:    no');
  const own = await debug(leaf, '--printJobInfo');
  t.equal(own.code, 2, "the job's own commit damaged");
  t.match(own.stderr, damagedLine(locator, `commits/${leaf}`), 'said as the damaged record it is');
  t.equal(own.stdout, '', 'nothing printed of it');
  await runs(split, 'down', split, 'a job run with a commit of another job damaged');
  await runs('setup', 'setup', setup, 'the first job run with a commit of another job damaged');
  t.equal(
    await info('setup', 'the workflow record and a commit damaged'),
    `checkpoint:    unknown (the workflow record and 1 commit are damaged and may hold its declaration; 'toil status ${locator}' lists them)`,
  );

  await store.damage[0](`commits/${setup}`);
  t.equal(
    await info(split, 'the commit that declared the job damaged'),
    `checkpoint:    unknown (the workflow record and 2 commits are damaged and may hold its declaration; 'toil status ${locator}' lists them)`,
  );
  t.equal(await info(up, 'three other records damaged, by id'), 'checkpoint:    no');
  const first = await debug('setup', '--printJobInfo');
  t.equal(first.code, 2, "the first job's own commit damaged");
  t.match(first.stderr, damagedLine(locator, `commits/${setup}`), 'said as the damaged record it is');
  await runs(split, 'down', split, 'a job run with the commit that declared it damaged');
  await absent(
    'a job not found, three records damaged',
    'the workflow record and 2 commits are damaged and may declare it',
  );
}

onDamageableSorts(
  'toil debug-job passes over damaged commits and workflow record of other jobs',
  'records-passed-over',
  passesOverRecords,
);
