import { join } from 'node:path';
import t from 'tap';
import { FAST_SCALING, startClusterCloud, startToilProcess } from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil kill JOBSTORE` of `toil run … --provisioner aws` (the seed form: a leader of its own that
 * scales the cluster): the run says once that the job store is kept and what resumes it, and no
 * error with a stack for a stop someone asked for. It used to add "the job store … is kept; fix
 * the cause and run again with --restart" (there is no cause to fix) after the kill's own line,
 * and log the kill as "workflow failed to run" with its stack.
 */
t.setTimeout(180_000);

t.test('toil kill of toil run --provisioner aws: what resumes it is said once', async (t) => {
  const dir = testDir(t, { work: {} });
  const cloud = await startClusterCloud(t, 'killonce');
  const run = startToilProcess(
    [
      ...['run', join(REPO_ROOT, 'test/fixtures/workflowSpotHold.ts'), 'file:js'],
      ...['--provisioner', 'aws', '--nodeTypes', 't2.medium', '--maxNodes', '1', ...FAST_SCALING],
      ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--zone', 'us-west-2a'],
      ...['--clusterName', 'killonce', '--workDir', join(dir, 'work')],
    ],
    { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
  );
  t.teardown(() => void run.child.kill('SIGKILL'));
  await run.waitFor(/launched nodes/, 60_000);
  const kill = await runToil(['kill', '--wait', '60', 'file:js'], { cwd: dir });
  t.equal(kill.code, 0, kill.stderr);
  const r = await run.done;
  t.equal(r.code, 1, 'exit 1');
  t.match(
    r.stderr,
    /^toil: the workflow was stopped by toil kill \(from .+\); its running jobs were killed and the job store \S+ is kept: resume with --restart$/m,
    'it says the workflow was killed, the job store kept, and what resumes it',
  );
  t.notMatch(r.stderr, /workflow failed/, 'stopped on purpose: not said to have failed');
  t.equal(
    r.stderr.split('\n').filter((l) => /^toil: .*(restart|is kept)/.test(l)).length,
    1,
    `once:\n${r.stderr}`,
  );
  t.notMatch(r.stderr, /workflow failed to run|WorkflowKilledError: |\bat <anonymous>/, 'no error, no stack');
});
