import t from 'tap';
import { endpointWithKeyPair } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

/**
 * `toil launch-cluster X || toil destroy-cluster X` succeeds when the launch failed and removed all
 * it made: nothing of X is left to destroy, which destroy-cluster says in one line naming the
 * clusters that are there (so a mistyped name shows), exit 0, as Toil's destroy-cluster does. A
 * second destroy-cluster says the same. Before, a name with nothing at all of it (no instance ever
 * made, or a cluster destroyed more than an hour ago) was refused, exit 2.
 */
t.setTimeout(120_000);

t.test('destroy-cluster after a launch that removed all it made: nothing to destroy, exit 0', async (t) => {
  const { endpoint, env: cloudEnv } = await endpointWithKeyPair(t);
  const env = { ...cloudEnv, TOIL_AWS_ZONE: 'us-west-2a' };
  const kept = await runToil(['launch-cluster', 'kept', '--nodeType', 'm5.large', '--keyPairName', 'k'], env);
  t.equal(kept.code, 0, kept.stderr);
  // EC2 refuses the leader: the launch removes the security group it made, and no instance was made.
  endpoint.faults.refuseCapacity({ instanceType: 't2.medium', market: 'on-demand' });
  const launch = await runToil(
    ['launch-cluster', 'gone', '--nodeType', 't2.medium', '--keyPairName', 'k'],
    env,
  );
  t.equal(launch.code, 1, launch.stderr);
  t.match(launch.stdout, /the launch failed: removing what was made of cluster 'gone'/);
  t.same(
    [...endpoint.cloud.instances.values()].filter((i) => i.tags.get('clusterName') === 'gone'),
    [],
    'no instance of the cluster was ever made',
  );
  const nothing =
    "nothing to destroy: nothing of cluster 'gone' is in region us-west-2 (no instance, security group, IAM role or munge key of it, live or recently terminated); clusters here: kept\n";
  for (const run of ['first', 'second']) {
    const r = await runToil(['destroy-cluster', 'gone'], env);
    t.equal(r.code, 0, `${run} destroy-cluster: exit 0 (stderr: ${r.stderr})`);
    t.equal(r.stdout, nothing, `${run} destroy-cluster says there is nothing to destroy`);
    t.equal(r.stderr, '', `${run} destroy-cluster: nothing on stderr`);
  }
  t.equal(
    [...endpoint.cloud.instances.values()].filter(
      (i) => i.tags.get('clusterName') === 'kept' && i.state === 'running',
    ).length,
    1,
    'the other cluster is untouched',
  );
});
