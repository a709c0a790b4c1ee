import { join } from 'node:path';
import t from 'tap';
import { startCluster } from '../fixtures/mesosCluster.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

/** Frames of toil-ts's own code (its built files), which a mistake of the user's must not show. */
const OWN_FRAME = /\bat .*(dist\/src|src\/(workflow|leader|cli))\/\w+\.(js|ts)/;

/** The summary's line for the job: its name and the error its timer threw, as for a plain throw. */
const SUMMARY =
  /^toil: job 'timerThrower' \([0-9a-f-]+\) failed after 1 attempt\(s\): Error: boom in timer$/m;

/**
 * A throw from a timer the job armed, while the job runs, ended its worker as Node ends any
 * process: the summary read "exit code 1" (on Mesos the task's "exited with status 1"), the error
 * only in the output's tail. It fails the job with that error, which the worker records in the job
 * store before it exits, as for a throw in the job's function.
 */
t.test("single_machine: a job's timer that throws fails the job, the summary naming the error", async (t) => {
  const dir = scratchDir(t);
  for (const [how, extra] of [
    ['warm worker', []],
    ['one-shot worker', ['--freshWorkers']],
  ] as const) {
    const r = await runToil(
      ['run', WORKFLOW, `file:./js${extra.length}`, 'job-throws-in-timer', '--retryCount', '0', ...extra],
      { cwd: dir },
    );
    t.equal(r.code, 1, `${how}: the workflow fails`);
    t.match(r.stderr, SUMMARY, `${how}: the summary names the job and the error`);
    t.match(
      r.stderr,
      /at Timeout\._onTimeout \(.*workflowMisbehaves\.ts:\d+:\d+\)/,
      `${how}: and the timer's line`,
    );
    t.match(r.stderr, /timerThrower arms its timer with 41/, `${how}: and what the job printed`);
    t.notMatch(r.stderr, /worker process died|exit code 1/, `${how}: the worker is not blamed`);
    t.notMatch(r.stderr, OWN_FRAME, `${how}: no frame of toil-ts's`);
  }
});

/**
 * A process that had an uncaught throw is in no known state: its warm worker takes no other job,
 * though the job left nothing open, and the retry runs in another process.
 */
t.test("a warm worker whose job's timer threw is retired; the retry runs in a new one", async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', WORKFLOW, 'file:./js', 'job-throws-in-timer', '--retryCount', '1'], {
    cwd: dir,
  });
  t.equal(r.code, 0, `the retry succeeds: ${r.stderr}`);
  t.match(
    r.stderr,
    /job 'timerThrower' failed; trying again: Error: boom in timer \(/,
    'the retry is said with the error',
  );
  const pids = [...r.stderr.matchAll(/timerThrower attempt (\d+) runs in pid (\d+)/g)].map((m) => [
    m[1],
    m[2],
  ]);
  t.same(
    pids.map(([attempt]) => attempt),
    ['1', '2'],
    'two attempts logged',
  );
  t.not(pids[0]?.[1], pids[1]?.[1], 'each in a process of its own');
});

t.test(
  "mesos: a job's timer that throws fails the job, the summary naming the error, not the task's exit",
  async (t) => {
    const cluster = await startCluster([
      { resources: 'cpus:2;mem:2048;disk:4096', attributes: 'preemptable:false' },
    ]);
    t.teardown(() => cluster.stop());
    const dir = testDir(t, {});
    const r = await runToil(
      [
        'run',
        WORKFLOW,
        'file:./js',
        'job-throws-in-timer',
        '--retryCount',
        '0',
        '--batchSystem',
        'mesos',
        '--mesosMaster',
        cluster.master.address,
      ],
      { cwd: dir },
    );
    t.equal(r.code, 1, 'the workflow fails');
    t.match(r.stderr, SUMMARY, 'the summary names the job and the error');
    t.notMatch(r.stderr, /TASK_FAILED|exited with status 1|exit code 1/, "the task's exit is not the reason");
    t.notMatch(r.stderr, OWN_FRAME, "no frame of toil-ts's");
  },
);
