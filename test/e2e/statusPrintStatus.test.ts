import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil, scratchDir, startLongJob, startToil } from '../fixtures/workflowCli.js';

const GATED = repoPath('test/fixtures/workflowGatedChildren.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);
// Each case runs its own workflow in its own directory and mostly waits: on the leader's 5 s look
// at what runs, on 4 s jobs held one at a time.
t.jobs = 4;

/**
 * Toil's `toil status --printStatus JOBSTORE` (its docs' example: "Job ID … with name … is running
 * on SingleMachineBatchSystem as ID 101349"): while a workflow runs, the job running now, with the
 * batch system's id of it (the worker's pid), the node and how long; once the leader is gone,
 * nothing runs and it says so.
 */
t.test(
  'toil status --printStatus lists the running job with its worker pid and host, and nothing once the leader is gone',
  async (t) => {
    const dir = scratchDir(t);
    const running = await startLongJob(t, dir);
    // The leader records what runs within its 5 s look.
    let status = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir });
    for (let i = 0; i < 40 && !/is running on/.test(status.stdout); i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir });
    }
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, /^job store: +file:\.\/js$/m, 'the summary comes first, as in Toil');
    t.match(
      status.stdout,
      /^state: +running: the leader on \S+ \(pid \d+, generation 0\) holds the store \(--printStatus lists what runs\)$/m,
      'the summary says a leader holds the store',
    );
    const head = new RegExp(
      `^the leader on ${hostname()} \\(pid (\\d+), generation 0\\) runs the workflow; as of \\S+ ago: 1 job\\(s\\) running, 0 issued and waiting to start$`,
      'm',
    ).exec(status.stdout);
    if (!head) t.comment(status.stdout);
    t.ok(head, 'it names the leader and how fresh its record is');
    const job = new RegExp(
      `^Job ID \\S+ with name tree is running on single_machine as ID (\\d+) on ${hostname()} \\(attempt 1, for \\S+\\)$`,
      'm',
    ).exec(status.stdout);
    t.ok(job, "the running job, in Toil's words, with the batch system's id of it");
    const leaderPid = Number(head?.[1]);
    const pid = Number(job?.[1]);
    t.match(
      readFileSync(`/proc/${leaderPid}/cmdline`, 'utf8'),
      /\0run\0/,
      'the leader named is the toil run',
    );
    t.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /\0worker\0/, 'the id is a worker process');
    t.match(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
      new RegExp(`^PPid:\\s+${leaderPid}$`, 'm'),
      "the leader's own worker",
    );

    const json = await runToil(['status', 'file:./js', '--printStatus', '--json'], { cwd: dir });
    const parsed = JSON.parse(json.stdout) as {
      running: { jobs: { name: string; state: string; batchJobId: string }[]; batchSystem: string };
    };
    t.same(
      parsed.running.jobs.map((j) => [j.name, j.state, j.batchJobId]),
      [['tree', 'running', String(pid)]],
      '--json carries the same',
    );

    const quiet = await runToil(['status', 'file:./js', '--status', '--noAggStats'], { cwd: dir });
    t.notMatch(quiet.stdout, /^job store:/m, '--noAggStats leaves the summary out');
    t.match(quiet.stdout, /with name tree is running on single_machine/, "Toil's --status spelling works");

    const kill = await runToil(['kill', 'file:./js', '--wait', '60'], { cwd: dir });
    t.equal(kill.code, 0, kill.stderr);
    await running.done;
    const after = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir });
    t.equal(after.code, 0, after.stderr);
    t.match(
      after.stdout,
      /^no leader is running the workflow in file:\.\/js, so none of its jobs is running \(the cluster jobs of a leader killed with -9 are stopped by 'toil kill --force file:\.\/js'\)$/m,
      'once the leader stopped, nothing runs; a run that recorded no end may have been killed with -9',
    );
    t.notMatch(after.stdout, /Job ID/, 'no job is listed');
    t.match(
      after.stdout,
      /^state: +not finished and stopped by toil kill \(from \S+, pid \d+, at \S+\); no leader holds the store \(resume with 'toil run WORKFLOW JOBSTORE --restart'\)$/m,
      'the summary says the workflow stopped, and by the kill',
    );
    t.notOk(processAlive(pid), 'and the worker it named is gone');
  },
);

t.test(
  'toil status --printStatus on a failed, then a finished workflow says nothing runs, and no word of toil kill --force',
  async (t) => {
    const dir = scratchDir(t);
    const tree = [
      'run',
      repoPath('test/fixtures/workflowTree.ts'),
      'file:./js',
      ...['--n', '2', '--out', join(dir, 'o'), '--log', join(dir, 'x.log')],
    ];
    const failed = await runToil([...tree, '--fail', 'add', '--failTimes', '1', '--retryCount', '0'], {
      cwd: dir,
    });
    t.equal(failed.code, 1, 'the workflow failed');
    // Its leader recorded how its run ended, having stopped its jobs: none can be left behind.
    const nothing = 'no leader is running the workflow in file:./js, so none of its jobs is running\n';
    const afterFailure = await runToil(['status', 'file:./js', '--printStatus', '--noAggStats'], {
      cwd: dir,
    });
    t.equal(afterFailure.code, 0, afterFailure.stderr);
    t.equal(afterFailure.stdout, nothing, 'failed: only that nothing runs');
    const finished = await runToil([...tree, '--restart', '--clean', 'never'], { cwd: dir });
    t.equal(finished.code, 0, finished.stderr);
    const afterFinish = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir });
    t.equal(afterFinish.code, 0, afterFinish.stderr);
    t.match(afterFinish.stdout, /^state: +finished$/m);
    t.ok(afterFinish.stdout.endsWith(`\n${nothing}`), 'finished: only that nothing runs, after the summary');
  },
);

t.test(
  'toil status --printStatus counts the jobs --maxJobs holds back apart from those issued',
  async (t) => {
    const dir = scratchDir(t);
    // The tree of 4 (10 jobs of 4 s each) one at a time: both halves of a range are ready at once.
    const running = startToil(
      [
        'run',
        repoPath('test/fixtures/workflowTree.ts'),
        'file:./js',
        ...['--n', '4', '--sleepMs', '4000', '--maxJobs', '1', '--logLevel', 'warning'],
        ...['--log', join(dir, 'exec.log'), '--out', join(dir, 'sum.txt')],
      ],
      { cwd: dir },
    );
    t.teardown(() => void running.child.kill('SIGKILL'));
    const head =
      /runs the workflow; as of \S+ ago: (\d+) job\(s\) running, (\d+) issued and waiting to start(.*)$/m;
    let status = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir });
    for (let i = 0; i < 120 && !/held back/.test(status.stdout); i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir });
    }
    const m = head.exec(status.stdout);
    if (!m) t.comment(status.stdout);
    t.ok(m, 'the head line');
    t.equal(Number(m?.[1]) + Number(m?.[2]), 1, 'one job issued: the one --maxJobs slot');
    t.match(
      m?.[3],
      /^, (\d+) ready and held back by a job limit \(--maxJobs, --maxServiceJobs\), not issued$/,
      'the held jobs counted apart',
    );
    const json = await runToil(['status', 'file:./js', '--printStatus', '--json'], { cwd: dir });
    const held = (JSON.parse(json.stdout) as { running: { held?: number } }).running.held;
    t.ok(held !== undefined && held >= 1, `--json carries the count (${held})`);
  },
);

t.test('plain toil status counts the jobs --maxJobs holds back, as --printStatus --json does', async (t) => {
  const dir = scratchDir(t);
  // Three leaves, each waiting for the test's go: under --maxJobs 1 one runs and two are held.
  const running = startToil(['run', GATED, 'file:./js', dir, '--maxJobs', '1', '--clean', 'never'], {
    cwd: dir,
  });
  t.teardown(() => void running.child.kill('SIGKILL'));
  const now =
    /^now: +(\d+) running, (\d+) issued and waiting to start, (\d+) held by a job limit \(--maxJobs, --maxServiceJobs\), as of \S+ ago$/m;
  let status = await runToil(['status', 'file:./js'], { cwd: dir });
  // Until the leaf has started in its slot (issued first) and both others are held.
  for (let i = 0; i < 120 && now.exec(status.stdout)?.slice(1).join() !== '1,0,2'; i++) {
    await new Promise((r) => setTimeout(r, 250));
    status = await runToil(['status', 'file:./js'], { cwd: dir });
  }
  t.equal(status.code, 0, status.stderr);
  const m = now.exec(status.stdout);
  if (!m) t.comment(status.stdout);
  t.same(m?.slice(1).map(Number), [1, 0, 2], 'one leaf in the one --maxJobs slot, running; two held');
  t.match(status.stdout, /^jobs: +1 completed of 4 declared so far, 3 ready to run$/m);
  const json = await runToil(['status', 'file:./js', '--printStatus', '--json'], { cwd: dir });
  const r = (JSON.parse(json.stdout) as { running: { running: number; waiting: number; held?: number } })
    .running;
  t.same([r.running, r.waiting, r.held], [1, 0, 2], '--printStatus --json counts the same');
  writeFileSync(join(dir, 'go'), '');
  const done = await running.done;
  t.equal(done.code, 0, done.stderr);
  const after = await runToil(['status', 'file:./js'], { cwd: dir });
  t.match(after.stdout, /^state: +finished$/m);
  t.notMatch(after.stdout, /^now:/m, 'no leader: no line of what it runs');
});
