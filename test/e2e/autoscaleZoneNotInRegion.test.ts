import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { everyWorker, makeCluster, startLocalCloud, stopGracefully } from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A zone its region does not have (`us-west-2z`, a letter mistyped) given to an autoscaled run:
 * launch-cluster refuses it up front, and the run did not. It made the job store, ran the jobs the
 * cluster's leader had room for, and failed at its first launch with "no subnet in zone us-west-2z
 * of VPC …", the store kept for a --restart that would fail the same way. A zone of a region EC2
 * does not have (`eu-west-9a`) is refused the same way, by EC2's list of its regions.
 */
const SORT = join(REPO_ROOT, 'examples/sort.ts');
t.setTimeout(180_000);

t.test(
  'an autoscaled run with a zone its region lacks, or of no region, is refused in one line before anything is made (exit 2)',
  async (t) => {
    const dir = testDir(t, {});
    const cloud = await startLocalCloud();
    t.teardown(() => stopGracefully(cloud));
    await makeCluster(cloud.ec2Url, 'seed');
    const run = (js: string, zoneFlag: readonly string[], env: Record<string, string> = {}) =>
      runToil(
        [
          ...['run', SORT, `file:${js}`, '--numLines', '50', '--provisioner', 'aws'],
          ...['--nodeTypes', 't2.medium:0.03,t2.medium', '--maxNodes', '2,1', '--defaultPreemptible'],
          ...['--batchSystem', 'mesos', '--mesosMaster', cloud.mesosMaster, '--clusterName', 'seed'],
          ...['--workDir', dir, ...zoneFlag],
        ],
        { cwd: dir, env: { AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir, ...env } },
      );
    const zones = '(its zones: us-west-2a, us-west-2b, us-west-2c)';
    for (const { name, js, flag, env, line } of [
      {
        name: '--zone',
        js: 'js-flag',
        flag: ['--zone', 'us-west-2z'],
        env: {},
        line: `toil: --zone us-west-2z: zone 'us-west-2z' is not in region us-west-2 ${zones}`,
      },
      {
        name: 'TOIL_AWS_ZONE',
        js: 'js-env',
        flag: [],
        env: { TOIL_AWS_ZONE: 'us-west-2z' },
        line: `toil: TOIL_AWS_ZONE=us-west-2z: zone 'us-west-2z' is not in region us-west-2 ${zones}`,
      },
      {
        name: 'a zone of no region EC2 has',
        js: 'js-region',
        flag: ['--zone', 'eu-west-9a'],
        env: {},
        line: "toil: --zone eu-west-9a: zone 'eu-west-9a' is in no region EC2 has: there is no eu-west-9 (expected a zone of a region it lists, like eu-central-1, eu-central-2, eu-north-1, eu-south-1, eu-south-2, eu-west-1, eu-west-2, eu-west-3)",
      },
    ]) {
      const r = await run(js, flag, env);
      t.equal(r.code, 2, `${name}: exit 2, the user's to fix`);
      t.equal(r.stderr, `${line}\n`, `${name}: the zone, where it came from and the region's zones, alone`);
      t.notOk(existsSync(join(dir, js)), `${name}: no job store made: the same command runs once fixed`);
    }
    t.same(await everyWorker(cloud.ec2Url), [], 'no worker launched');

    const fixed = await run('js-fixed', ['--zone', 'us-west-2b']);
    t.equal(fixed.code, 0, `a zone of the region runs: ${fixed.stderr.slice(-2000)}`);
  },
);
