import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { distinctiveSleep, killProcessesWithArgv, processesWithArgv } from '../fixtures/strayProcesses.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil, startWarmWorker } from '../fixtures/workflowCli.js';
import type { WarmRunRequest } from '../../src/workflow/warmWorker.js';

/**
 * A job's process group is killed when it ends, but a process the job started detached (its own
 * session and group, as setsid or `spawn(…, { detached: true })` make it) is out of that group:
 * it ran on under init after `toil run` exited. Every process of a job attempt carries the
 * attempt's mark in its environment, and whatever still carries it when the attempt ends (it
 * returned, threw, was killed for --maxJobDuration, or the leader stopped) is ended, with a
 * warning naming the job.
 */
const WORKFLOW = repoPath('test/fixtures/workflowDetaches.ts');

// A few runs of a second or two each (and a 2 s grace), on a busy two-core machine.
t.setTimeout(240_000);
// Each case has its own directory and its own distinctive sleep, so none sees another's
// processes; side by side they overlap the --maxJobDuration and grace waits.
t.jobs = 3;

const LEFT_WARNING = /job 'detacher' left 1 process running after it ended .*; ended it/;

/** A distinctive `sleep`'s argv, killed by the test's teardown should the run leave it. */
function straySleep(t: { teardown(fn: () => void): void }): string[] {
  const argv = ['sleep', distinctiveSleep()];
  t.teardown(() => killProcessesWithArgv(argv));
  return argv;
}

for (const [workers, extra] of [
  ['warm workers', []],
  ['a one-shot worker per job', ['--freshWorkers']],
] as const) {
  t.test(`${workers}: a job's detached process ends with the job that returned or threw`, async (t) => {
    const dir = scratchDir(t);
    for (const [mode, exitCode] of [
      ['returns', 0],
      ['throws', 1],
    ] as const) {
      const sleep = straySleep(t);
      const r = await runToil(
        [
          'run',
          WORKFLOW,
          `file:./js-${mode}`,
          mode,
          sleep[1]!,
          '--retryCount',
          '0',
          '--clean',
          'always',
          ...extra,
        ],
        { cwd: dir },
      );
      t.equal(r.code, exitCode, `${mode}: toil run exits ${exitCode} (${r.stderr.slice(-600)})`);
      t.same(
        processesWithArgv(sleep),
        [],
        `${mode}: no '${sleep.join(' ')}' is alive once toil run has exited`,
      );
      t.match(r.stderr, LEFT_WARNING, `${mode}: the warning names the job and how many processes it left`);
    }
  });

  t.test(`${workers}: a job killed for --maxJobDuration takes its detached process with it`, async (t) => {
    const dir = scratchDir(t);
    const sleep = straySleep(t);
    const r = await runToil(
      [
        'run',
        WORKFLOW,
        'file:./js',
        'hangs',
        sleep[1]!,
        '--maxJobDuration',
        '2',
        '--retryCount',
        '0',
        ...extra,
      ],
      { cwd: dir },
    );
    t.equal(r.code, 1, `the run fails (${r.stderr.slice(-600)})`);
    t.match(r.stderr, /ran longer than --maxJobDuration 2 s/);
    t.same(processesWithArgv(sleep), [], `no '${sleep.join(' ')}' is alive once toil run has exited`);
    t.match(r.stderr, LEFT_WARNING);
  });
}

t.test(
  "a leader stopped by SIGTERM ends its running job's detached process before it exits; so does a worker, one-shot or warm, its batch system stops with SIGTERM",
  async (t) => {
    const dir = scratchDir(t);
    const sleep = straySleep(t);
    const run = startToil(['run', WORKFLOW, 'file:./js', 'hangs', sleep[1]!], { cwd: dir });
    t.teardown(() => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    });
    await waitFor('the job to start its sleep', () => processesWithArgv(sleep).length === 1, 60_000);
    run.child.kill('SIGTERM');
    const r = await run.done;
    t.not(r.code, 0, `the stopped run does not succeed (${r.stderr.slice(-600)})`);
    t.same(processesWithArgv(sleep), [], `no '${sleep.join(' ')}' is alive once toil run has exited`);
    t.match(r.stderr, LEFT_WARNING);

    // The kept store's job run again by `toil worker` as on a cluster's node: no leader of this
    // machine sweeps after it, and its batch system (a Mesos task kill, scancel) sends SIGTERM.
    const { rootJobId } = (await new JobStore(new FileObjectStore(join(dir, 'js'))).readWorkflow())!;
    const worker = startToil(['worker', 'file:./js', rootJobId, '--attempt', '999'], { cwd: dir });
    t.teardown(() => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    });
    await waitFor("the worker's job to start its sleep", () => processesWithArgv(sleep).length === 1, 60_000);
    worker.child.kill('SIGTERM');
    const w = await worker.done;
    t.same(processesWithArgv(sleep), [], `no '${sleep.join(' ')}' is alive once the worker has exited`);
    t.equal(w.signal, 'SIGTERM', `the worker then dies of the SIGTERM, as without its handler (${w.stderr})`);

    // The same job sent to a warm worker (`toil worker --serve`), which its leader's batch system
    // stops the same way: it sweeps the running job's mark too, and dies of the signal.
    const { child: warm, ended: warmEnded, stderr: warmStderr } = startWarmWorker(t, dir);
    warm.send({
      type: 'run',
      locator: 'file:./js',
      jobId: rootJobId,
      attempt: 1000,
    } satisfies WarmRunRequest);
    await waitFor(
      "the warm worker's job to start its sleep",
      () => processesWithArgv(sleep).length === 1,
      60_000,
    );
    warm.kill('SIGTERM');
    const warmSignal = await warmEnded;
    t.same(processesWithArgv(sleep), [], `no '${sleep.join(' ')}' is alive once the warm worker has exited`);
    t.equal(warmSignal, 'SIGTERM', `the warm worker dies of the SIGTERM (${warmStderr()})`);
  },
);
