import { join } from 'node:path';
import t, { type Test } from 'tap';
import { s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { openObjectStore } from '../../src/main/jobStores.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

/** What toil status says becomes of a damaged record of where a leader's jobs run. */
const CLUSTER_RECORD_REMEDY =
  "nothing to restore: the next leader writes it again; until then 'toil clean' and 'toil kill --force' cannot cancel the jobs a dead leader left";

/** A running record (running.json) of generation 0 with nothing listed, but for `fields`. */
function runningRecord(fields: Record<string, unknown>): string {
  return JSON.stringify({ format: 1, generation: 0, at: 1, running: 0, waiting: 0, jobs: [], ...fields });
}

/** The tree workflow run to its end in a fresh aws: store on s3rver, kept: its commits' keys. */
async function ranTree(t: Test, locator: string) {
  const { server, dir } = await s3rverAndScratchDir(t);
  const run = ['run', TREE, locator, '--out', 'out.txt', '--log', 'exec.log', '--disableProgress'];
  const ran = await runToil([...run, '--clean', 'never'], { cwd: dir, env: server.env });
  t.equal(ran.code, 0, ran.stderr);
  const store = openObjectStore(locator, { env: server.env });
  const commits: string[] = [];
  for await (const info of store.list('commits/')) commits.push(info.key);
  t.ok(commits.length > 1, 'the jobs committed');
  return { server, dir, run, store, commits };
}

// A commit or workflow record that parsed but lacked a field the job graph is built from (written
// by something else, with intact length and SHA-256 metadata) made `toil status` fail with an
// internal error and a stack trace deep in that build; it is now listed among the damaged
// objects, naming what it lacks, and a --restart refuses the store as damaged.
t.test(
  'toil status on an aws: store lists a commit and a workflow record that lack the fields they must hold as damaged, naming what is wrong',
  async (t) => {
    const locator = 'aws:us-west-2:malformed-record';
    const { server, dir, run, store, commits } = await ranTree(t, locator);
    const key = commits[0]!;
    const jobId = key.slice('commits/'.length);
    // Written through the store: its length and SHA-256 are intact, only what it holds is wrong.
    await store.put(key, JSON.stringify({ format: 1, jobId }));

    const status = await runToil(['status', locator], { cwd: dir, env: server.env });
    t.equal(status.code, 1, 'exit 1: a damaged object');
    t.notMatch(status.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    t.match(status.stdout, /^damaged: +1 object\(s\) /m, 'one damaged object: the commit');
    t.match(
      status.stdout,
      new RegExp(
        `^  ${key}: does not hold a job's commit: no children list, no followOns list, no deletedFiles list, no newJobs list, no attempt, no wallTimeMs, no logs list$`,
        'm',
      ),
      'the commit and the fields it lacks',
    );

    await store.put(
      key,
      JSON.stringify({
        format: 1,
        jobId: 'other',
        children: [],
        followOns: [],
        deletedFiles: [3],
        newJobs: [{}],
      }),
    );
    const wrong = await runToil(['status', locator, '--json'], { cwd: dir, env: server.env });
    t.equal(wrong.code, 1, wrong.stderr);
    t.same(
      (JSON.parse(wrong.stdout) as { damaged: unknown[] }).damaged,
      [
        {
          key,
          reason: `does not hold a job's commit: its jobId "other" is not ${jobId}, the job its key names, deletedFiles is [3], not a list of ids, no newJobs[0].id, no newJobs[0].name, no newJobs[0].children list, no newJobs[0].followOns list, no newJobs[0].requirements, no attempt, no wallTimeMs, no logs list`,
        },
      ],
      'each field of the wrong type or missing, by its place',
    );

    await store.put(
      'workflow.json',
      JSON.stringify({ format: 1, workflowId: 'w', rootJobId: 'r', jobs: 'x' }),
    );
    const record = await runToil(['status', locator], { cwd: dir, env: server.env });
    t.equal(record.code, 1, record.stderr);
    t.notMatch(record.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    t.match(record.stdout, /^job store aws:us-west-2:malformed-record: its workflow record is damaged$/m);
    t.match(
      record.stdout,
      /^ {2}workflow\.json: does not hold a workflow record: jobs is "x", not a list of jobs, no createdAt, no workflowFile, no module, no args list, no options$/m,
      'the workflow record and what is wrong with it',
    );

    const restart = await runToil([...run, '--restart'], { cwd: dir, env: server.env });
    t.equal(restart.code, 2, 'a --restart refuses the damaged store');
    t.match(
      restart.stderr,
      /^toil: job store aws:us-west-2:malformed-record is damaged: object workflow\.json does not hold a workflow record: jobs is "x", not a list of jobs, no createdAt, no workflowFile, no module, no args list, no options /m,
    );
    t.notMatch(restart.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
  },
);

// The records `toil status` lists line by line: the run's outcome (its failed jobs), the log of a
// failed attempt (--printLogs) and what a running leader runs. One that parsed but held a field
// of another type made status fail with an internal error (`log.logs.map is not a function`) or
// print `undefined (3): undefined` for a failed job; each is now a damaged object, named.
t.test(
  'toil status lists a run outcome, a failure log and a running record of the wrong shape as damaged, naming each field',
  async (t) => {
    const { server, dir } = await s3rverAndScratchDir(t);
    const locator = 'aws:us-west-2:malformed-outcome';
    const workflow = join(REPO_ROOT, 'test/fixtures/workflowOneFails.ts');
    const ran = await runToil(['run', workflow, locator, '--retryCount', '0', '--disableProgress', '0'], {
      cwd: dir,
      env: server.env,
    });
    t.equal(ran.code, 1, 'the run fails: one job throws');
    const store = openObjectStore(locator, { env: server.env });
    const logs: string[] = [];
    for await (const info of store.list('logs/')) logs.push(info.key);
    t.equal(logs.length, 1, 'one failed attempt logged');
    const logKey = logs[0]!;

    const intact = await runToil(['status', locator, '--printLogs'], { cwd: dir, env: server.env });
    t.match(intact.stdout, /^ {2}failed: +fails \(/m, 'intact: the failed job named');
    t.match(intact.stdout, /no such sample/, 'intact: its log printed');

    await store.put(
      'outcome.json',
      JSON.stringify({ format: 1, generation: 0, status: 'failed', at: 1, failedJobs: [{ jobId: 3 }] }),
    );
    await store.put(
      logKey,
      JSON.stringify({ format: 1, jobId: 'j', attempt: 1, name: 'fails', error: 'e', logs: 3, output: 5 }),
    );
    await store.put(
      'running.json',
      runningRecord({
        batchSystem: 'x',
        running: '1',
        jobs: [{ jobId: 'j', name: 'n', attempt: 1, state: 'done' }],
      }),
    );

    const status = await runToil(['status', locator, '--printLogs', '--printFailed'], {
      cwd: dir,
      env: server.env,
    });
    t.equal(status.code, 1, 'exit 1: damaged objects');
    t.notMatch(status.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    t.notMatch(status.stdout, /undefined/, 'no field printed as undefined');
    t.match(
      status.stdout,
      /^damaged: +3 object\(s\), none to restore /m,
      'three damaged objects, each rewritten by the next leader or read by one command only',
    );
    t.match(
      status.stdout,
      /^ {2}outcome\.json: does not hold a run's outcome: failedJobs\[0\]\.jobId is 3, not a string, no failedJobs\[0\]\.name, no failedJobs\[0\]\.error; nothing to restore: /m,
    );
    t.match(
      status.stdout,
      new RegExp(
        `^  ${logKey}: does not hold a failed attempt's log: logs is 3, not a list of records, output is 5, not a string; nothing to restore for the workflow: `,
        'm',
      ),
    );
    t.match(
      status.stdout,
      /^ {2}running\.json: does not hold what a leader runs: running is "1", not a number, jobs\[0\]\.state is "done", not "running" or "issued"; nothing to restore: /m,
    );

    const json = await runToil(['status', locator, '--json', '--printLogs'], { cwd: dir, env: server.env });
    t.equal(json.code, 1, json.stderr);
    t.same(
      (JSON.parse(json.stdout) as { damaged: { key: string }[] }).damaged.map((d) => d.key),
      [logKey, 'outcome.json', 'running.json'],
      '--json lists the same three',
    );

    const jobId = logKey.split('/')[1]!;
    // The damaged outcome (it only says whether the job failed for good) keeps debug-job from
    // nothing: with the ticket as the leader wrote it, the job runs here and fails as it did.
    const runsHere = await runToil(['debug-job', locator, jobId], { cwd: dir, env: server.env });
    t.equal(runsHere.code, 1, 'debug-job runs the job despite the damaged outcome: it fails as in the run');
    t.match(runsHere.stderr, /no such sample/, "the job's own error");
    t.notMatch(runsHere.stderr, /internal error|refus/, 'no refusal, no internal error');
    t.equal(
      runsHere.stderr.split('\n').filter((l) => /outcome\.json of job store \S+ is damaged/.test(l)).length,
      1,
      'one line says the damaged outcome leaves unknown whether the job failed for good',
    );

    // A ticket is what a worker (and toil debug-job) runs: one whose requirements are of another
    // type was taken for no ticket, and debug-job said the job failed before it was issued.
    const ticket = {
      format: 1,
      jobId,
      workflowId: 'w',
      name: 'fails',
      input: null,
      module: { key: 'module.mjs', etag: 'e', size: 1 },
    };
    await store.put(
      `jobs/${jobId}`,
      JSON.stringify({ ...ticket, requirements: { cores: 1, memory: '1G', disk: 1, preemptable: false } }),
    );
    const debug = await runToil(['debug-job', locator, jobId], { cwd: dir, env: server.env });
    t.equal(debug.code, 2, 'debug-job refuses the damaged ticket');
    t.notMatch(
      debug.stderr,
      /internal error|\n\s+at |before it was issued/,
      'no stack trace, no job said never issued',
    );
    t.match(
      debug.stderr,
      new RegExp(
        `^toil: job store ${locator} is damaged: object jobs/${jobId} does not hold a job's ticket: requirements\\.memory is "1G", not a number `,
        'm',
      ),
    );
  },
);

// Fields the job graph is not built from, yet that status, stats and a --restart read: the
// workflow record's start time (status printed it: `RangeError: Invalid time value`) and its
// arguments (a restart ran the workflow's finish with none, as if it had been started so), a
// commit's services (an internal error, `is not iterable`, in status and a restart) and times
// (stats printed NaN), the pointer to the module the last run used (taken for none, a restart
// compared its file with the first module and a resuming leader daemon ran that one), and the
// Mesos and Slurm records `toil kill --force` and a restart cancel a dead leader's jobs by (taken
// for none or for this machine's cluster). Each is a damaged object naming the field, and a
// restart refuses the store.
t.test(
  'toil status, stats and a --restart name a workflow record, a commit, the last module and the cluster records that lack what they read',
  async (t) => {
    const locator = 'aws:us-west-2:malformed-fields';
    const { server, dir, run, store, commits } = await ranTree(t, locator);
    const workflow = JSON.parse((await store.get('workflow.json'))!.body.toString()) as Record<
      string,
      unknown
    >;
    t.same(workflow.args, ['--out', 'out.txt', '--log', 'exec.log'], 'the run kept its arguments');

    const { createdAt: _c, args: _a, ...lacking } = workflow;
    await store.put('workflow.json', JSON.stringify(lacking));
    const status = await runToil(['status', locator], { cwd: dir, env: server.env });
    t.equal(status.code, 1, 'exit 1: a damaged object');
    t.notMatch(status.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    t.match(
      status.stdout,
      /^ {2}workflow\.json: does not hold a workflow record: no createdAt, no args list$/m,
      'the workflow record and the fields it lacks',
    );
    const restart = await runToil([...run, '--restart'], { cwd: dir, env: server.env });
    t.equal(restart.code, 2, 'a --restart refuses the store rather than run with no arguments');
    t.match(
      restart.stderr,
      /^toil: job store aws:us-west-2:malformed-fields is damaged: object workflow\.json does not hold a workflow record: no createdAt, no args list /m,
    );
    await store.put('workflow.json', JSON.stringify(workflow));

    const key = commits[0]!;
    const commit = JSON.parse((await store.get(key))!.body.toString()) as Record<string, unknown>;
    await store.put(key, JSON.stringify({ ...commit, services: 3, wallTimeMs: 'x' }));
    const problem = `does not hold a job's commit: services is 3, not a list of ids, wallTimeMs is "x", not a number`;
    const damagedCommit = await runToil(['status', locator], { cwd: dir, env: server.env });
    t.equal(damagedCommit.code, 1, damagedCommit.stderr);
    t.notMatch(damagedCommit.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    t.match(damagedCommit.stdout, new RegExp(`^  ${key}: ${problem}$`, 'm'), 'the commit and its fields');
    const stats = await runToil(['stats', locator], { cwd: dir, env: server.env });
    t.equal(stats.code, 2, 'stats refuses the damaged commit');
    t.notMatch(stats.stdout, /NaN/, 'no time printed as NaN');
    t.match(
      stats.stderr,
      new RegExp(`^toil: job store ${locator} is damaged: object ${key} ${problem} `, 'm'),
    );
    const replay = await runToil([...run, '--restart'], { cwd: dir, env: server.env });
    t.equal(replay.code, 2, 'a --restart refuses the damaged commit');
    t.notMatch(replay.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    await store.put(key, JSON.stringify(commit));

    await store.put('module-current.json', JSON.stringify({ format: 1 }));
    await store.put('mesos-framework.json', JSON.stringify({ format: 1, frameworkId: 3 }));
    await store.put('slurm.json', JSON.stringify({ format: 1, conf: ['a'] }));
    const json = await runToil(['status', locator, '--json'], { cwd: dir, env: server.env });
    t.equal(json.code, 1, json.stderr);
    t.same(
      (JSON.parse(json.stdout) as { damaged: unknown[] }).damaged,
      [
        {
          key: 'mesos-framework.json',
          reason: 'does not hold a Mesos framework: frameworkId is 3, not a string',
          remedy: CLUSTER_RECORD_REMEDY,
        },
        { key: 'module-current.json', reason: "does not hold the last run's module: no module" },
        {
          key: 'slurm.json',
          reason: `does not hold a Slurm cluster's use: conf is ["a"], not a string`,
          remedy: CLUSTER_RECORD_REMEDY,
        },
      ],
      'each record named with what is wrong',
    );
    const resume = await runToil([...run, '--restart'], { cwd: dir, env: server.env });
    t.equal(resume.code, 2, 'a --restart refuses rather than take the first module for the last');
    t.match(
      resume.stderr,
      /^toil: job store aws:us-west-2:malformed-fields is damaged: object module-current\.json does not hold the last run's module: no module /m,
    );
  },
);

// `toil clean` cancels the jobs a leader killed with -9 left on a cluster, in the framework or the
// Slurm cluster the store records. With such a record damaged it refused, exit 2, telling the user
// to run `toil clean`: the store could not be deleted at all. It now says the jobs were not
// cancelled, naming the record, and deletes the store.
t.test(
  "toil clean deletes a store whose Mesos and Slurm records are damaged, saying the dead leader's jobs were not cancelled",
  async (t) => {
    const locator = 'aws:us-west-2:malformed-cluster';
    const { server, dir, store } = await ranTree(t, locator);
    // What a leader killed with -9 while a job ran on Mesos leaves.
    await store.put('running.json', runningRecord({ batchSystem: 'mesos', running: 1 }));
    await store.put('mesos-framework.json', JSON.stringify({ format: 1, frameworkId: 3 }));
    await store.put('slurm.json', JSON.stringify({ format: 1, conf: 3 }));

    const clean = await runToil(['clean', locator], { cwd: dir, env: server.env });
    t.equal(clean.code, 0, clean.stderr);
    t.equal(clean.stdout, `deleted job store ${locator}\n`);
    t.same(
      clean.stderr.trim().split('\n'),
      [
        "toil: clean: the workflow's Mesos tasks, if any, were not cancelled and may still be queued or running: object mesos-framework.json does not hold a Mesos framework: frameworkId is 3, not a string",
        "toil: clean: the workflow's Slurm jobs, if any, were not cancelled and may still be queued or running: object slurm.json does not hold a Slurm cluster's use: conf is 3, not a string",
      ],
      'one line for each record, naming it',
    );
    const status = await runToil(['status', locator], { cwd: dir, env: server.env });
    t.equal(status.code, 2, 'the store is gone');
  },
);
