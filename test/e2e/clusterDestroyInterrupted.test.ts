import t from 'tap';
import { startTestEndpoint, testEc2Client, importTestKeyPair } from '../fixtures/ec2Local.js';
import { runToil, spawnToil } from '../fixtures/ec2ToilCli.js';

/**
 * A destroy-cluster stopped with Ctrl-C says in one line what it had done and what may still
 * exist, exits 130, and running it again finishes the job. Before, it ended silently.
 */
t.setTimeout(120_000);

t.test(
  'Ctrl-C while the leader shuts down: one line of what was done and what is left; a second run finishes',
  async (t) => {
    // Instances take 3 s to shut down: the destroy waits for the leader long enough to be interrupted.
    const endpoint = await startTestEndpoint({ bootDelayMs: 0, shutdownDelayMs: 3000 });
    t.teardown(() => endpoint.stop());
    const client = testEc2Client(endpoint.url);
    t.teardown(() => client.destroy());
    await importTestKeyPair(client, 'k');
    const env = { AWS_ENDPOINT_URL_EC2: endpoint.url, TOIL_AWS_ZONE: 'us-west-2a' };
    const launch = await runToil(
      ['launch-cluster', 'cut', '--nodeType', 't2.medium', '-w', '1', '--keyPairName', 'k'],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);
    const instances = () =>
      [...endpoint.cloud.instances.values()].filter((i) => i.tags.get('clusterName') === 'cut');
    const leader = instances().find((i) => i.tags.get('ToilNodeType') === 'leader')!;
    const worker = instances().find((i) => i.tags.get('ToilNodeType') !== 'leader')!;
    const groups = () =>
      [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === 'cut').map((g) => g.id);
    const [groupId] = groups();

    const destroy = spawnToil(t, ['destroy-cluster', 'cut'], env);
    await destroy.untilStdout(/^terminating leader/m);
    // Interrupted once EC2 has the leader's termination, while destroy-cluster waits for it to end.
    while (endpoint.cloud.instances.get(leader.id)!.state !== 'shutting-down')
      await new Promise((r) => setTimeout(r, 20));
    destroy.child.kill('SIGINT');
    t.equal(await destroy.exited, 130, `exit 130, as a shell reports Ctrl-C (stderr: ${destroy.stderr()})`);
    t.equal(
      destroy.stderr(),
      `toil: destroy-cluster cut interrupted by SIGINT: it had asked EC2 to terminate 1 instance(s) (${leader.id}); ` +
        "may still exist: instances not yet terminating and open spot requests, the security group: run 'toil destroy-cluster cut' again to finish\n",
    );
    t.equal(endpoint.cloud.instances.get(worker.id)!.state, 'running', 'the worker was not reached');
    t.same(groups(), [groupId], 'the security group is still there');

    const again = await runToil(['destroy-cluster', 'cut'], env);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /^cluster 'cut' destroyed$/m);
    t.same(
      instances().map((i) => i.state),
      ['terminated', 'terminated'],
      'the second run ended every instance',
    );
    t.same(groups(), [], 'and deleted the security group');
  },
);
