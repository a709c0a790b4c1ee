import { join } from 'node:path';
import t from 'tap';
import { createS3Client } from '../../src/main/s3Client.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Env, startMoto } from '../fixtures/motoServer.js';
import { startS3rver } from '../fixtures/s3rver.js';
import { debugFailingAdd } from '../fixtures/debugJobRuns.js';
import { bucketSnapshot as snapshot } from '../fixtures/storeSnapshot.js';
import { REPO_ROOT, scratchDir, runToil } from '../fixtures/workflowCli.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
const FILES = join(REPO_ROOT, 'test/fixtures/workflowFiles.ts');
const REGION = 'us-west-2';
const LOCATOR = `aws:${REGION}:debug-test`;
const FILES_LOCATOR = `aws:${REGION}:debug-files`;

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// The three cases share nothing (each its own server, its own directory): they run side by side.
t.jobs = 3;

/**
 * What a user of an S3 run does after a job failed for good: debug it by name and id (the bucket as it
 * was after), print its record, read the workflow's status and stats, try to kill it.
 *
 * `every` runs each command in each of its forms; otherwise a form that reads the bucket no
 * differently from another (status --json beside status, stats' table beside --raw) is left out,
 * and a store that does not exist is asked of one command: what tells that store from an absent
 * one is the S3 server's answer, which the other commands ask for the same way.
 */
async function debugOnS3(t: Test, env: Record<string, string>, every: boolean): Promise<void> {
  const dir = scratchDir(t);
  const s3 = createS3Client(REGION, env);
  t.teardown(() => s3.destroy());
  // `add` fails its first 4 attempts: the run's 2, then the 2 debug runs below.
  const flags = ['--n', '2', '--out', join(dir, 'o'), '--log', join(dir, 'exec.log')];
  const failing = ['--fail', 'add', '--failTimes', '4', '--retryCount', '1', '--stats'];
  const run = await runToil(['run', TREE, LOCATOR, ...flags, ...failing], { cwd: dir, env });
  t.equal(run.code, 1, 'the workflow failed');
  const jobId = /job 'add' \(([0-9a-f-]+)\) failed after/.exec(run.stderr)?.[1];
  t.ok(jobId, 'the failed job is named');
  const before = await snapshot(s3, LOCATOR);
  t.ok(
    Object.keys(before).some((k) => k.startsWith('jobs/')),
    'the bucket holds the tickets',
  );
  const statusBefore = await runToil(['status', LOCATOR], { cwd: dir, env });
  t.equal(statusBefore.code, 0, statusBefore.stderr);

  await debugFailingAdd(t, LOCATOR, jobId!, { cwd: dir, env });
  t.same(await snapshot(s3, LOCATOR), before, 'no object of the bucket was added, changed or deleted');

  const info = await runToil(['debug-job', LOCATOR, 'add', '--printJobInfo'], { cwd: dir, env });
  t.equal(info.code, 0, info.stderr);
  t.match(info.stdout, new RegExp(`^job: +add\\nid: +${jobId}\\n`, 'm'));
  t.match(info.stdout, /^input: +\{"a":0,"b":1,"opts":\{/m, 'its input, promises resolved');
  t.match(info.stdout, /^ran: +no \(no commit in the job store\)$/m);
  t.match(info.stdout, /^failed: +2 attempt\(s\) logged; failed for good in the last run$/m);
  t.equal(info.stdout.match(/^ {2}attempt \d+: Error: add was told to fail$/gm)?.length, 2);

  const status = await runToil(['status', LOCATOR], { cwd: dir, env });
  t.equal(status.code, 0, status.stderr);
  t.equal(status.stdout, statusBefore.stdout, 'toil status says the same after the debug run');
  if (every) {
    const json = await runToil(['status', LOCATOR, '--json'], { cwd: dir, env });
    t.equal(json.code, 0, json.stderr);
    t.match(
      JSON.parse(json.stdout),
      { finished: false, failedJobs: [{ jobId, name: 'add' }] },
      'status names the job that failed for good',
    );
  }

  const stats = await runToil(['stats', LOCATOR, '--raw'], { cwd: dir, env });
  t.equal(stats.code, 0, stats.stderr);
  const s = JSON.parse(stats.stdout) as { jobs: number; byName: { name: string; count: number }[] };
  const counts = Object.fromEntries(s.byName.map((n) => [n.name, n.count]));
  t.same(counts, { tree: 3 }, 'the three tree jobs that ran are counted (add never committed)');
  if (every) {
    const table = await runToil(['stats', LOCATOR], { cwd: dir, env });
    t.equal(table.code, 0, table.stderr);
    t.match(table.stdout, /^jobs: +3 run, /m);
  }

  const kill = await runToil(['kill', LOCATOR], { cwd: dir, env });
  t.equal(kill.code, 2, 'no leader holds the failed workflow');
  t.match(
    kill.stderr,
    new RegExp(
      `^toil: no leader is running the workflow in job store ${LOCATOR} \\(nothing to kill\\)$`,
      'm',
    ),
  );
  t.same(await snapshot(s3, LOCATOR), before, 'status, stats and kill changed nothing either');

  // A job that returns, after writing four files to the bucket (one streamed) and deleting one.
  const files = await runToil(['run', FILES, FILES_LOCATOR, '--clean', 'never'], { cwd: dir, env });
  t.equal(files.code, 0, files.stderr);
  const filesBefore = await snapshot(s3, FILES_LOCATOR);
  const produce = await runToil(['debug-job', FILES_LOCATOR, 'produce'], { cwd: dir, env });
  t.equal(produce.code, 0, produce.stderr);
  t.match(produce.stderr, /^\S+Z info \[produce\]: produced files\/[0-9a-f/-]+$/m, 'its log line');
  t.match(produce.stderr, /job 'produce' \([0-9a-f-]+\) returned \(not committed\)/);
  t.same(await snapshot(s3, FILES_LOCATOR), filesBefore, 'the files it wrote are deleted again');

  const absent = 'aws:us-west-2:no-such-store';
  const absentAsked = [
    ['status', absent],
    ...(every
      ? [
          ['debug-job', absent, 'add'],
          ['debug-job', absent, 'add', '--printJobInfo'],
          ['stats', absent],
        ]
      : []),
  ];
  for (const args of absentAsked) {
    const bad = await runToil(args, { cwd: dir, env });
    t.equal(bad.code, 2, `${args.join(' ')}: exit 2`);
    t.match(bad.stderr, /^toil: job store aws:us-west-2:no-such-store does not exist/m);
    t.notMatch(bad.stderr, /internal error|\n\s+at /, 'no stack trace');
  }
}

t.test(
  `toil debug-job, status, stats and kill on ${LOCATOR} against moto_server (AWS_ENDPOINT_URL_S3)`,
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    // Every form of every command runs against s3rver (below), which is always there.
    await debugOnS3(t, motoS3Env(moto), false);
  },
);

t.test(
  `toil debug-job, status, stats and kill on ${LOCATOR} against s3rver (AWS_ENDPOINT_URL_S3)`,
  async (t) => {
    const s3rver = await startS3rver();
    t.teardown(() => s3rver.stop());
    await debugOnS3(t, { ...s3rver.env }, true);
  },
);
