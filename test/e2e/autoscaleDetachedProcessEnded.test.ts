import { join } from 'node:path';
import t from 'tap';
import { autoscaledRunArgs, liveWorkers, startClusterCloud } from '../fixtures/leaderE2e.js';
import { distinctiveSleep, killProcessesWithArgv, processesWithArgv } from '../fixtures/strayProcesses.js';
import { testDir } from '../fixtures/testDir.js';
import { startToil } from '../fixtures/workflowCli.js';

/**
 * On the local cloud's Mesos agents (run as a cluster's nodes run jobs: `sh -c` of `toil worker`
 * in a process group of its own), a process a job started detached left the group, and ran on
 * under init after `toil run --provisioner aws` had exited and released the node. Now the worker
 * ends it when the job returns (its warning in the job's log, shown by the leader), and the agent
 * ends it when the task's command was killed (--maxJobDuration): nothing of the job is alive once
 * the run has exited. The same for one the workflow's start() started (in the leader's process
 * for the workflow's code).
 */
t.setTimeout(300_000);

const WORKFLOW = 'test/fixtures/workflowDetaches.ts';

t.test("an autoscaled run's job on a local cloud node leaves no detached process behind", async (t) => {
  const dir = testDir(t, { tmp: {}, work: {} });
  const env = { TMPDIR: join(dir, 'tmp') };
  const cloud = await startClusterCloud(t, 'detach', { env });
  for (const [mode, extra, exitCode] of [
    ['returns', ['--clean', 'always'], 0],
    ['hangs', ['--maxJobDuration', '3', '--retryCount', '0'], 1],
    ['start-detaches', ['--clean', 'always'], 0],
  ] as const) {
    const sleep = ['sleep', distinctiveSleep()];
    t.teardown(() => killProcessesWithArgv(sleep));
    const run = startToil(
      [
        ...autoscaledRunArgs(
          [WORKFLOW, `file:js-${mode}`, mode, sleep[1]!],
          cloud,
          'detach',
          join(dir, 'work'),
        ),
        ...extra,
      ],
      { cwd: dir, env: { ...env, AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
    );
    // The job's log says it started the sleep, but a killed job's log is lost with its worker:
    // then the sleep is seen here while it runs, which is at least until --maxJobDuration (3 s)
    // kills the job. Each look reads every process's command line: twice a second, not ten times.
    let seen = false;
    const watch = setInterval(() => (seen ||= processesWithArgv(sleep).length > 0), 500);
    const r = await run.done.finally(() => clearInterval(watch));
    t.equal(r.code, exitCode, `${mode}: toil run exits ${exitCode} (${r.stderr.slice(-800)})`);
    t.ok(
      seen || (r.stdout + r.stderr).includes(`started sleep ${sleep[1]} detached`),
      `${mode}: the job ran and started it`,
    );
    t.same(
      processesWithArgv(sleep),
      [],
      `${mode}: no '${sleep.join(' ')}' is alive once toil run has exited`,
    );
    if (mode === 'returns')
      t.match(
        r.stdout + r.stderr,
        /job 'detacher' left 1 process running after it ended .*; ended it/,
        'returns: the job log names the job and how many it left',
      );
    if (mode === 'start-detaches')
      t.match(
        r.stdout + r.stderr,
        /start\(\) of workflow \S+workflowDetaches\.ts left 1 process running after it ended .*; ended it/,
        "start-detaches: the leader names the workflow's start() and how many it left",
      );
    t.same(await liveWorkers(cloud.ec2Url), [], `${mode}: the run released its node`);
  }
});
