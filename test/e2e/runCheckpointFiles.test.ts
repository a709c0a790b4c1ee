import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { commitKey, type JobStore } from '../../src/jobstore/jobStore.js';
import { openJobStore } from '../../src/main/jobStores.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { startS3rver } from '../fixtures/s3rver.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

t.setTimeout(180_000);

const WORKFLOW = repoPath('test/fixtures/workflowCheckpointFiles.ts');

/** What each file under `files/` holds (the job and run that wrote it), sorted. */
async function filesHeld(store: JobStore): Promise<string[]> {
  const held: string[] = [];
  for await (const o of store.objects.list('files/'))
    held.push((await store.readFileBytes(o.key)).toString());
  return held.sort();
}

/**
 * The keys under `jobs/`, `logs/`, `lost/` and `services/` of jobs neither the workflow record nor
 * any commit in the store declares: what dropped jobs left, that no run reads.
 */
async function recordsOfUndeclaredJobs(store: JobStore): Promise<string[]> {
  const workflow = await store.readWorkflow();
  const commits = [...(await store.readAllCommits()).values()];
  const declared = new Set(
    [...(workflow?.jobs ?? []), ...commits.flatMap((c) => c.newJobs)].map((j) => j.id),
  );
  const left: string[] = [];
  for (const prefix of ['jobs/', 'logs/', 'lost/', 'services/'])
    for await (const o of store.objects.list(prefix))
      if (!declared.has(o.key.slice(prefix.length).split('/')[0]!)) left.push(o.key);
  return left;
}

/**
 * Runs the workflow on `locator`: under ck's first run `check` fails for good, ck runs again,
 * and the jobs of its first run are forgotten.
 */
async function rerunLeavesOnlyLiveFiles(
  t: Test,
  locator: string,
  env: Record<string, string> = {},
): Promise<void> {
  const dir = scratchDir(t);
  const r = await runToil(['run', WORKFLOW, locator, '--retryCount', '1', '--clean', 'never'], {
    cwd: dir,
    env,
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /job 'check' below checkpoint job 'ck' failed for good; running 'ck' again/);
  // The dropped check failed twice (a retry left after its first attempt): two logs.
  t.match(
    r.stderr,
    /deleted what the jobs checkpoint job 'ck' dropped to run again left: 1 file\(s\), 2 ticket\(s\), 2 failure log\(s\)/,
  );
  t.equal(
    readFileSync(join(dir, 'result.txt'), 'utf8'),
    'top, ck 2, writer 2',
    "the rerun's files and the one from above it were read after the deletions",
  );
  const store = openJobStore(locator, { cwd: dir, env: { ...process.env, ...env } });
  t.same(
    await filesHeld(store),
    ['ck 2', 'top', 'writer 2'],
    "the forgotten writer's file and ck's first attempt's are gone; top's, which they were given, and the rerun's stay",
  );
  t.same(
    await recordsOfUndeclaredJobs(store),
    [],
    "the dropped writer's and check's tickets and check's two failure logs are gone",
  );
  let logs = 0;
  for await (const _ of store.objects.list('logs/')) logs++;
  t.equal(logs, 0, "no failure log is left: only the dropped check's attempts failed");
  const s = await runToil(['status', locator], { cwd: dir, env });
  t.equal(s.code, 0, s.stderr);
  t.match(s.stdout, /state:\s+finished/);
  t.match(s.stdout, /damaged:\s+none/, 'no record names a file that was deleted');
  const d = await runToil(['debug-job', locator, 'check', '--printJobInfo'], { cwd: dir, env });
  t.equal(d.code, 0, d.stderr);
  t.match(d.stdout, /"run": ?2/, "the name picks the rerun's check, not the dropped one's ticket");
}

t.test(
  "a checkpoint's rerun deletes the files its forgotten jobs and its first attempt wrote, on a file: store",
  async (t) => {
    await rerunLeavesOnlyLiveFiles(t, 'file:./js');
  },
);

t.test(
  "a checkpoint's rerun deletes the files its forgotten jobs and its first attempt wrote, on an aws: store (s3rver)",
  async (t) => {
    const s3rver = await startS3rver();
    t.teardown(() => s3rver.stop());
    await rerunLeavesOnlyLiveFiles(t, 'aws:us-west-2:checkpoint-files', { ...s3rver.env });
  },
);

/**
 * The store of a leader killed between a checkpoint rerun's deletion of ck's commit and of those
 * of the jobs it dropped: with no retries, ck fails for good once check has, its commit and
 * writer's kept; ck's is then deleted. Writer's commit is an orphan declaring check.
 */
async function storeWithOrphanedCommit(
  t: Test,
  locator: string,
): Promise<{ dir: string; store: JobStore; orphan: string }> {
  const dir = scratchDir(t);
  const first = await runToil(['run', WORKFLOW, locator, '--retryCount', '0', '--clean', 'never'], {
    cwd: dir,
  });
  t.equal(first.code, 1, first.stderr);
  const store = openJobStore(locator, { cwd: dir, env: process.env });
  const commits = [...(await store.readAllCommits()).values()];
  const ck = commits.flatMap((c) => c.newJobs).find((j) => j.name === 'ck');
  const writer = commits.find((c) => c.newJobs.some((j) => j.name === 'check'));
  if (!ck || !writer) throw new Error(`no commit declares ck, or check: ${JSON.stringify(commits)}`);
  await store.objects.delete(commitKey(ck.id));
  return { dir, store, orphan: writer.jobId };
}

t.test(
  "a leader killed between a checkpoint rerun's deletion of its commit and of its dropped jobs': --restart deletes the orphaned commit, then the files, tickets, failure logs and other records its jobs left",
  async (t) => {
    const locator = 'file:./js';
    const { dir, store, orphan } = await storeWithOrphanedCommit(t, locator);
    t.ok((await filesHeld(store)).includes('writer 1'), "the orphan's job's file is there before");
    const commits = [...(await store.readAllCommits()).values()];
    const check = commits.flatMap((c) => c.newJobs).find((j) => j.name === 'check')!;
    // As a lost attempt of it, and a service's run, would have left them.
    await store.markLostAttempt({ jobId: check.id, attempt: 1 });
    await store.writeServiceStarted(check.id, 1, 'up');
    const dropped = [
      `jobs/${check.id}`,
      `jobs/${orphan}`,
      `logs/${check.id}/1`,
      `lost/${check.id}/1`,
      `services/${check.id}/1/started`,
    ];
    const held = async (): Promise<string[]> => {
      const here: string[] = [];
      for (const key of dropped) if (await store.objects.head(key)) here.push(key);
      return here;
    };
    t.same(
      await held(),
      dropped,
      "before: the dropped jobs' tickets, check's failure log, mark and service record",
    );
    const r = await runToil(['run', WORKFLOW, locator, '--restart', '--clean', 'never'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stderr,
      /deleted 1 orphaned commit\(s\) of jobs a checkpoint's rerun dropped and what their jobs left: 1 file\(s\), 2 ticket\(s\), 1 failure log\(s\), 1 lost-attempt mark\(s\), 1 service record\(s\)/,
    );
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'top, ck 2, writer 2', 'ck ran again');
    t.notOk(await store.readCommit(orphan), "the first run's writer's commit is gone");
    t.same(
      await filesHeld(store),
      ['ck 2', 'top', 'writer 2'],
      "the first run's writer's file is gone, and ck's first attempt's went as ck's rerun committed",
    );
    t.same(await held(), [], 'after: all gone');
    t.same(await recordsOfUndeclaredJobs(store), [], 'no record of a job no commit declares is left');
  },
);

t.test(
  '--restart with a lost-attempt mark of the job whose commit is orphaned (its deletion failed): the run goes on, and the mark goes with the commit',
  async (t) => {
    const locator = 'file:./js';
    const { dir, store, orphan } = await storeWithOrphanedCommit(t, locator);
    await store.markLostAttempt({ jobId: orphan, attempt: 1 });
    const r = await runToil(['run', WORKFLOW, locator, '--restart', '--clean', 'never'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'top, ck 2, writer 2', 'ck ran again');
    t.same(await store.lostAttemptMarks(), [], 'the mark is gone');
  },
);

t.test(
  'an orphaned commit left after --restart (its deletion failed): toil status calls none of the files only it names missing',
  async (t) => {
    const locator = 'file:./js';
    const { dir, store, orphan } = await storeWithOrphanedCommit(t, locator);
    const kept = await store.objects.get(commitKey(orphan));
    if (!kept) throw new Error(`no commit of ${orphan}`);
    const r = await runToil(['run', WORKFLOW, locator, '--restart', '--clean', 'never'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    // As a deletion that failed leaves it, naming ck's first attempt's file, gone with ck's rerun.
    await store.objects.put(commitKey(orphan), kept.body);
    t.notOk((await filesHeld(store)).includes('ck 1'), "ck's first attempt's file is gone");
    const s = await runToil(['status', locator], { cwd: dir });
    t.equal(s.code, 0, s.stdout + s.stderr);
    t.match(s.stdout, /state:\s+finished/);
    t.match(s.stdout, /damaged:\s+none/, 'a commit no job of the workflow leads to names no file');
  },
);

t.test("toil stats of a store with an orphaned commit does not count that commit's job", async (t) => {
  const locator = 'file:./js';
  const { dir } = await storeWithOrphanedCommit(t, locator);
  const r = await runToil(['stats', locator, '--raw'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { jobs: number; byName: { name: string; count: number }[] };
  t.equal(s.jobs, 1, 'only top, whose commit the workflow leads to, ran');
  t.same(
    Object.fromEntries(s.byName.map((n) => [n.name, n.count])),
    { top: 1 },
    "the first run's writer, dropped with ck's commit, is not counted",
  );
});

t.test(
  'toil debug-job of a job only an orphaned commit declares, or of the job whose commit that is, refuses it in one line',
  async (t) => {
    const locator = 'file:./js';
    const { dir, orphan } = await storeWithOrphanedCommit(t, locator);
    const check = await runToil(['debug-job', locator, 'check'], { cwd: dir });
    t.equal(check.code, 2, check.stdout + check.stderr);
    t.match(
      check.stderr,
      /^toil: job 'check' \([0-9a-f-]{36}\) in job store file:\.\/js was dropped by a rerun of the checkpoint job above it: no run of the workflow runs it any more, so there is nothing to debug\n$/,
    );
    const writer = await runToil(['debug-job', locator, orphan, '--printJobInfo'], { cwd: dir });
    t.equal(writer.code, 2, writer.stdout + writer.stderr);
    t.match(
      writer.stderr,
      new RegExp(`^toil: job 'writer' \\(${orphan}\\) in job store file:\\./js was dropped`),
    );
    t.equal(writer.stderr.split('\n').length, 2, 'one line');
  },
);

t.test(
  '--restart with a workflow file that renamed a job only an orphaned commit declares: it resumes, the renamed job running in the rerun',
  async (t) => {
    const locator = 'file:./js';
    const { dir } = await storeWithOrphanedCommit(t, locator);
    const wf = join(dir, 'wf.ts');
    writeFileSync(wf, readFileSync(WORKFLOW, 'utf8').replaceAll("'check'", "'verify'"));
    const r = await runToil(['run', wf, locator, '--restart', '--clean', 'never'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /the workflow file changed since the last run of this workflow/);
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'top, ck 2, writer 2', 'ck ran again');
  },
);
