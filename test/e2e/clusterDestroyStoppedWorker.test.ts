import t from 'tap';
import { endpointWithKeyPair } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

/**
 * `toil destroy-cluster` terminates a worker of the cluster that someone stopped, as it does a
 * running one: a stopped instance runs nothing but its root volume bills until it is terminated.
 */
t.setTimeout(120_000);

t.test('destroy-cluster terminates a stopped worker of the cluster', async (t) => {
  const { endpoint, env: cloudEnv } = await endpointWithKeyPair(t);
  const env = { ...cloudEnv, TOIL_AWS_ZONE: 'us-west-2a' };
  const launch = await runToil(
    [
      'launch-cluster',
      'sw',
      '--leaderNodeType',
      't2.medium',
      '--nodeTypes',
      't2.medium',
      '-w',
      '2',
      '--keyPairName',
      'k',
    ],
    env,
  );
  t.equal(launch.code, 0, launch.stderr);
  const ofCluster = () =>
    [...endpoint.cloud.instances.values()].filter((i) => i.tags.get('clusterName') === 'sw');
  const workers = ofCluster().filter((i) => i.tags.get('ToilNodeType') !== 'leader');
  t.equal(workers.length, 2, 'two workers launched');
  endpoint.cloud.stopInstance(workers[0]!.id);
  t.same(
    ofCluster()
      .map((i) => i.state)
      .sort(),
    ['running', 'running', 'stopped'],
    'one worker stopped',
  );

  const destroy = await runToil(['destroy-cluster', 'sw'], env);
  t.equal(destroy.code, 0, destroy.stderr);
  t.match(destroy.stdout, /terminating 2 worker\(s\)/, 'the stopped worker is among those terminated');
  t.same(
    ofCluster()
      .filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down')
      .map((i) => `${i.id} ${i.state}`),
    [],
    'no instance of the cluster is left, stopped or running',
  );
});
