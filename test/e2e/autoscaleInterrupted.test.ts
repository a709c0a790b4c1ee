import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  FAST_SCALING,
  liveWorkers,
  startClusterCloud,
  sleep,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';
import { startEc2Relay } from '../fixtures/ec2Relay.js';

/**
 * SIGTERM (or Ctrl-C) to `toil run … --provisioner aws` while its job runs: the workflow is
 * cancelled (its job killed, the leader's scratch removed as when any run ends), every node the run
 * launched is released, the job store and the run's scaler state are kept for --restart, and the
 * exit code is the signal's (143; Ctrl-C 130). It used to stop the leader and exit 130 at once,
 * leaving `<workDir>/toil-ts-bundle-*` behind.
 */
t.setTimeout(180_000);

t.test(
  'the seed form interrupted by SIGTERM cancels, releases its nodes and leaves no scratch',
  async (t) => {
    const dir = testDir(t, { work: {} });
    const cloud = await startClusterCloud(t, 'intr');
    const workDir = join(dir, 'work');
    const run = startToilProcess(
      [
        ...['run', join(REPO_ROOT, 'test/fixtures/workflowSpotHold.ts'), 'file:js'],
        ...['--provisioner', 'aws', '--nodeTypes', 't2.medium', '--maxNodes', '1', ...FAST_SCALING],
        ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--zone', 'us-west-2a'],
        ...['--clusterName', 'intr', '--workDir', workDir, '--logLevel', 'info'],
      ],
      { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
    );
    t.teardown(() => void run.child.kill('SIGKILL'));
    await run.waitFor(/launched nodes/, 60_000);
    t.ok(
      readdirSync(workDir).some((n) => n.startsWith('toil-ts-bundle-')),
      "the leader's scratch exists while it runs",
    );
    run.child.kill('SIGTERM');
    const { code } = await run.done;
    t.equal(code, 143, `exit 143 (output: ${run.output().slice(-3000)})`);
    t.match(run.output(), /toil: SIGTERM: cancelling the workflow; its job store is kept for --restart/);
    t.match(run.output(), /toil: workflow interrupted by SIGTERM; its job store is kept for --restart/);
    t.notMatch(
      run.output(),
      /workflow failed to run|acknowledge failed/,
      'no error for a cancellation asked for',
    );
    t.same(
      readdirSync(workDir).filter((n) => n.startsWith('toil-ts-bundle-')),
      [],
      "no leader's scratch left",
    );
    t.ok(
      readdirSync(workDir).some((n) => n.startsWith('toil-autoscale-')),
      "the run's scaler state is kept for --restart",
    );
    t.ok(readdirSync(dir).includes('js'), 'the job store is kept');
    let live = await liveWorkers(cloud.ec2Url);
    for (let i = 0; i < 50 && live.length > 0; i++) {
      await sleep(100);
      live = await liveWorkers(cloud.ec2Url);
    }
    t.same(live, [], 'every node the run launched is released');
  },
);

t.test(
  'a second signal while the run stops still releases its nodes (one try per call), then exits',
  async (t) => {
    const dir = testDir(t, { work: {} });
    const cloud = await startClusterCloud(t, 'intr2');
    // EC2 lists instances slowly from some point: the run's stop waits for its tick in flight, and
    // is still waiting at the second signal, before it has asked for any node to be terminated.
    let slow = false;
    const relay = await startEc2Relay(t, cloud.ec2Url, {
      before: async (action) => {
        if (slow && action === 'DescribeInstances') await sleep(4000);
      },
    });
    const run = startToilProcess(
      [
        ...['run', join(REPO_ROOT, 'test/fixtures/workflowSpotHold.ts'), 'file:js'],
        ...['--provisioner', 'aws', '--nodeTypes', 't2.medium', '--maxNodes', '1', ...FAST_SCALING],
        ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--zone', 'us-west-2a'],
        ...['--clusterName', 'intr2', '--workDir', join(dir, 'work'), '--logLevel', 'info'],
      ],
      { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: relay.url, TOIL_WORKDIR: dir } },
    );
    t.teardown(() => void run.child.kill('SIGKILL'));
    await run.waitFor(/launched nodes/, 60_000);
    t.equal((await liveWorkers(cloud.ec2Url)).length, 1, 'the run launched its node');
    slow = true;
    await sleep(1500);
    run.child.kill('SIGINT');
    await run.waitFor(/toil: releasing every node this run launched/, 30_000);
    run.child.kill('SIGINT');
    const { code } = await run.done;
    t.equal(code, 130, `exit 130 (output: ${run.output().slice(-3000)})`);
    t.match(
      run.output(),
      /toil: SIGINT: releasing the nodes this run launched, one try per call, then exiting/,
    );
    let live = await liveWorkers(cloud.ec2Url);
    for (let i = 0; i < 50 && live.length > 0; i++) {
      await sleep(100);
      live = await liveWorkers(cloud.ec2Url);
    }
    t.same(live, [], 'every node the run launched is released');
  },
);
