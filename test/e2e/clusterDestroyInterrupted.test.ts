import t, { type Test } from 'tap';
import { iamSdk, ssmSdk } from '../../src/common/awsSdkPackages.js';
import type { Ec2Endpoint } from '../../src/localcloud/ec2/index.js';
import { startTestEndpoint, testEc2Client, importTestKeyPair } from '../fixtures/ec2Local.js';
import { runToil, spawnToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable, motoIamClient, startMoto } from '../fixtures/motoServer.js';

const { GetInstanceProfileCommand, GetRoleCommand } = iamSdk();
const { GetParameterCommand, SSMClient } = ssmSdk();

/**
 * A destroy-cluster stopped with Ctrl-C says in one line what it had done and what may still
 * exist, exits 130, and running it again finishes the job. Before, it ended silently; then it named
 * only the kinds of what was left, which the user could not look up: now it names each by id or
 * name (the instances, the security group, the IAM roles and profiles, the munge key parameter),
 * a few of each kind and how many more.
 */
t.setTimeout(120_000);

/** The local EC2 endpoint holding key pair 'k', its instances taking 3 s to shut down. */
async function slowShutdownCloud(t: Test): Promise<Ec2Endpoint> {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0, shutdownDelayMs: 3000 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  t.teardown(() => client.destroy());
  await importTestKeyPair(client, 'k');
  return endpoint;
}

/**
 * `toil destroy-cluster NAME` stopped by Ctrl-C once EC2 has the leader's termination, while it
 * waits for the leader to end (3 s: long enough to be interrupted); its stderr, once it exited 130.
 */
async function interruptedDestroy(
  t: Test,
  name: string,
  env: Record<string, string>,
  endpoint: Ec2Endpoint,
  leaderId: string,
): Promise<string> {
  const destroy = spawnToil(t, ['destroy-cluster', name], env);
  await destroy.untilStdout(/^terminating leader/m);
  while (endpoint.cloud.instances.get(leaderId)!.state !== 'shutting-down')
    await new Promise((r) => setTimeout(r, 20));
  destroy.child.kill('SIGINT');
  t.equal(await destroy.exited, 130, `exit 130, as a shell reports Ctrl-C (stderr: ${destroy.stderr()})`);
  return destroy.stderr();
}

t.test(
  'Ctrl-C while the leader shuts down: one line of what was done and what is left; a second run finishes',
  async (t) => {
    const endpoint = await slowShutdownCloud(t);
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

    const stderr = await interruptedDestroy(t, 'cut', env, endpoint, leader.id);
    t.equal(
      stderr,
      `toil: destroy-cluster cut interrupted by SIGINT: it had asked EC2 to terminate 1 instance(s) (${leader.id}); ` +
        `may still exist: instance ${worker.id}, its open spot requests (not looked up yet), security group ${groupId}: ` +
        "run 'toil destroy-cluster cut' again to finish\n",
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

t.test(
  'Ctrl-C names what is left by id and name, a few of each kind: workers, group, IAM roles and profiles, munge key',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const endpoint = await slowShutdownCloud(t);
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const iam = motoIamClient(moto);
    t.teardown(() => iam.destroy());
    const ssm = new SSMClient({
      region: 'us-west-2',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    t.teardown(() => ssm.destroy());
    const env = {
      AWS_ENDPOINT_URL_EC2: endpoint.url,
      AWS_ENDPOINT_URL_IAM: moto.endpoint,
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
      TOIL_AWS_ZONE: 'us-west-2a',
    };
    const launch = await runToil(
      ['launch-cluster', 'big', '-T', 'slurm', '--nodeType', 't2.medium', '-w', '7', '--keyPairName', 'k'],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);
    const instances = () =>
      [...endpoint.cloud.instances.values()].filter((i) => i.tags.get('clusterName') === 'big');
    const leader = instances().find((i) => i.tags.get('ToilNodeType') === 'leader')!;
    const workers = instances()
      .filter((i) => i.id !== leader.id)
      .map((i) => i.id);
    t.equal(workers.length, 7, 'seven workers');
    const [groupId] = [...endpoint.cloud.securityGroups.values()]
      .filter((g) => g.name === 'big')
      .map((g) => g.id);

    const line = await interruptedDestroy(t, 'big', env, endpoint, leader.id);
    const named = /may still exist: instances \((i-[0-9a-f]+(?:, i-[0-9a-f]+)*) and (\d+) more\), /.exec(
      line,
    );
    t.ok(named, `the workers, by id: ${line}`);
    const shown = named?.[1]?.split(', ') ?? [];
    t.equal(shown.length, 5, 'five of them shown');
    t.equal(new Set(shown).size, 5, 'five different ones');
    t.ok(
      shown.every((id) => workers.includes(id)),
      'each a worker of the cluster',
    );
    t.equal(named?.[2], '2', 'and how many more');
    t.ok(
      line.endsWith(
        `more), its open spot requests (not looked up yet), security group ${groupId}, ` +
          'IAM roles (toil-big-leader, toil-big-worker), instance profiles (toil-big-leader, toil-big-worker), ' +
          "SSM parameter /toil/big/munge-key: run 'toil destroy-cluster big' again to finish\n",
      ),
      `the group, roles, profiles and parameter, by name: ${line}`,
    );
    // What it names is there to be looked up.
    for (const id of shown) t.equal(endpoint.cloud.instances.get(id)?.state, 'running', `${id} still runs`);
    t.ok(endpoint.cloud.securityGroups.has(groupId!), `${groupId} is there`);
    for (const name of ['toil-big-leader', 'toil-big-worker']) {
      await t.resolves(iam.send(new GetRoleCommand({ RoleName: name })), `role ${name} is there`);
      await t.resolves(
        iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })),
        `instance profile ${name} is there`,
      );
    }
    await t.resolves(
      ssm.send(new GetParameterCommand({ Name: '/toil/big/munge-key' })),
      'the parameter is there',
    );

    const again = await runToil(['destroy-cluster', 'big'], env);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /^cluster 'big' destroyed$/m);
    t.ok(
      instances().every((i) => i.state === 'terminated'),
      'the second run ended every instance',
    );
  },
);
