import { join } from 'node:path';
import t from 'tap';
import { FAST_SCALING, liveWorkers, startClusterCloud, startToilProcess } from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil run … --provisioner aws --nodeTypes c5.large,c5.xlarge`: a 1-core job runs on a c5.large
 * (2 cores) and adds a 4-core child. No node of the cluster can run the child, but the scaler may
 * launch a c5.xlarge that can: the child must wait for it, not be refused as too big for the
 * cluster (the nodes registered so far are not the nodes the cluster can have).
 */
t.setTimeout(180_000);

t.test(
  'a job bigger than every node so far but within a node type runs on a node launched for it',
  async (t) => {
    const dir = testDir(t, { work: {} });
    const cloud = await startClusterCloud(t, 'grows');
    const run = startToilProcess(
      [
        ...['run', join(REPO_ROOT, 'test/fixtures/workflowGrowsBigger.ts'), 'file:js'],
        ...[
          '--provisioner',
          'aws',
          '--nodeTypes',
          'c5.large,c5.xlarge',
          '--maxNodes',
          '1,1',
          ...FAST_SCALING,
        ],
        ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--zone', 'us-west-2a'],
        ...['--clusterName', 'grows', '--workDir', join(dir, 'work')],
      ],
      { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
    );
    t.teardown(() => void run.child.kill('SIGKILL'));
    const r = await run.done;
    t.equal(r.code, 0, `the workflow succeeds (output: ${run.output().slice(-3000)})`);
    t.match(r.stderr, /workflow succeeded: 2 jobs run/);
    t.notMatch(run.output(), /too big|JOB_TOO_BIG/);
    t.same(await liveWorkers(cloud.ec2Url), [], 'every node released');
  },
);
