import { join } from 'node:path';
import t from 'tap';
import { s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { openObjectStore } from '../../src/main/jobStores.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// A commit or workflow record that parsed but lacked a field the job graph is built from (written
// by something else, with intact length and SHA-256 metadata) made `toil status` fail with an
// internal error and a stack trace deep in that build; it is now listed among the damaged
// objects, naming what it lacks, and a --restart refuses the store as damaged.
t.test(
  'toil status on an aws: store lists a commit and a workflow record that lack the fields they must hold as damaged, naming what is wrong',
  async (t) => {
    const { server, dir } = await s3rverAndScratchDir(t);
    const locator = 'aws:us-west-2:malformed-record';
    const run = ['run', TREE, locator, '--out', 'out.txt', '--log', 'exec.log', '--disableProgress'];
    const ran = await runToil([...run, '--clean', 'never'], { cwd: dir, env: server.env });
    t.equal(ran.code, 0, ran.stderr);

    const store = openObjectStore(locator, { env: server.env });
    const commits: string[] = [];
    for await (const info of store.list('commits/')) commits.push(info.key);
    t.ok(commits.length > 1, 'the jobs committed');
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
        `^  ${key}: does not hold a job's commit: no children list, no followOns list, no deletedFiles list, no newJobs list$`,
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
          reason: `does not hold a job's commit: its jobId "other" is not ${jobId}, the job its key names, deletedFiles is [3], not a list of ids, no newJobs[0].id, no newJobs[0].name, no newJobs[0].children list, no newJobs[0].followOns list`,
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
      /^ {2}workflow\.json: does not hold a workflow record: jobs is "x", not a list of jobs$/m,
      'the workflow record and what is wrong with it',
    );

    const restart = await runToil([...run, '--restart'], { cwd: dir, env: server.env });
    t.equal(restart.code, 2, 'a --restart refuses the damaged store');
    t.match(
      restart.stderr,
      /^toil: job store aws:us-west-2:malformed-record is damaged: object workflow\.json does not hold a workflow record: jobs is "x", not a list of jobs /m,
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
      JSON.stringify({
        format: 1,
        generation: 0,
        at: 1,
        batchSystem: 'x',
        running: '1',
        waiting: 0,
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
    t.match(status.stdout, /^damaged: +3 object\(s\) /m, 'three damaged objects');
    t.match(
      status.stdout,
      /^ {2}outcome\.json: does not hold a run's outcome: failedJobs\[0\]\.jobId is 3, not a string, no failedJobs\[0\]\.name, no failedJobs\[0\]\.error$/m,
    );
    t.match(
      status.stdout,
      new RegExp(
        `^  ${logKey}: does not hold a failed attempt's log: logs is 3, not a list of records, output is 5, not a string$`,
        'm',
      ),
    );
    t.match(
      status.stdout,
      /^ {2}running\.json: does not hold what a leader runs: running is "1", not a number, jobs\[0\]\.state is "done", not "running" or "issued"$/m,
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
    t.notMatch(runsHere.stderr, /is damaged|internal error/, 'no refusal, no internal error');

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
