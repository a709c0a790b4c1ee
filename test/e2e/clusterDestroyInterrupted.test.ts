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
// Each case has a local EC2 endpoint (and moto) of its own, and mostly waits on its instances'
// 3-s shutdown: they run side by side.
t.jobs = 3;

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
 * `toil destroy-cluster NAME` stopped by Ctrl-C once EC2 has the termination of `ending` (the
 * leader, unless given), while it waits for them to end (3 s: long enough to be interrupted), its
 * progress having said `said`; its stderr, once it exited 130.
 */
async function interruptedDestroy(
  t: Test,
  name: string,
  env: Record<string, string>,
  endpoint: Ec2Endpoint,
  leaderId: string,
  { said = /^terminating leader/m, ending = [leaderId] }: { said?: RegExp; ending?: readonly string[] } = {},
): Promise<string> {
  const destroy = spawnToil(t, ['destroy-cluster', name], env);
  await destroy.untilStdout(said);
  while (ending.some((id) => endpoint.cloud.instances.get(id)!.state !== 'shutting-down'))
    await new Promise((r) => setTimeout(r, 20));
  destroy.child.kill('SIGINT');
  t.equal(await destroy.exited, 130, `exit 130, as a shell reports Ctrl-C (stderr: ${destroy.stderr()})`);
  return destroy.stderr();
}

/**
 * `toil launch-cluster NAME` (`extra` flags) with `workers` t2.medium workers on the endpoint, and
 * what it made: its instances and security groups (as they are when asked), its leader and workers.
 */
async function launchedCluster(
  t: Test,
  endpoint: Ec2Endpoint,
  env: Record<string, string>,
  name: string,
  workers: number,
  extra: readonly string[] = [],
) {
  const launch = await runToil(
    [
      'launch-cluster',
      name,
      ...extra,
      '--nodeType',
      't2.medium',
      '-w',
      String(workers),
      '--keyPairName',
      'k',
    ],
    env,
  );
  t.equal(launch.code, 0, launch.stderr);
  const instances = () =>
    [...endpoint.cloud.instances.values()].filter((i) => i.tags.get('clusterName') === name);
  const leader = instances().find((i) => i.tags.get('ToilNodeType') === 'leader')!;
  const groups = () =>
    [...endpoint.cloud.securityGroups.values()].filter((g) => g.name === name).map((g) => g.id);
  return {
    instances,
    groups,
    leader,
    workers: instances()
      .filter((i) => i.id !== leader.id)
      .map((i) => i.id),
    groupId: groups()[0]!,
  };
}

t.test(
  'Ctrl-C while the leader shuts down: one line of what was done and what is left; a second run finishes',
  async (t) => {
    const endpoint = await slowShutdownCloud(t);
    const env = { AWS_ENDPOINT_URL_EC2: endpoint.url, TOIL_AWS_ZONE: 'us-west-2a' };
    const { instances, groups, leader, workers, groupId } = await launchedCluster(t, endpoint, env, 'cut', 1);
    const worker = endpoint.cloud.instances.get(workers[0]!)!;

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
  'Ctrl-C while the workers shut down: five of the instances it asked EC2 to terminate, then how many more',
  async (t) => {
    const endpoint = await slowShutdownCloud(t);
    const env = { AWS_ENDPOINT_URL_EC2: endpoint.url, TOIL_AWS_ZONE: 'us-west-2a' };
    const { leader, workers, groupId } = await launchedCluster(t, endpoint, env, 'many', 7);
    t.equal(workers.length, 7, 'seven workers');

    const line = await interruptedDestroy(t, 'many', env, endpoint, leader.id, {
      said: /^terminating 7 worker\(s\)/m,
      ending: workers,
    });
    const done =
      /it had asked EC2 to terminate 8 instance\(s\) \((i-[0-9a-f]+(?:, i-[0-9a-f]+)*) and (\d+) more\); /.exec(
        line,
      );
    t.ok(done, `the instances asked to end, a few by id: ${line}`);
    const shown = done?.[1]?.split(', ') ?? [];
    t.equal(shown.length, 5, 'five of them shown');
    t.equal(shown[0], leader.id, 'the leader first, as it was asked first');
    t.equal(new Set(shown).size, 5, 'five different ones');
    t.ok(
      shown.slice(1).every((id) => workers.includes(id)),
      'the others, workers of the cluster',
    );
    t.equal(done?.[2], '3', 'and how many more');
    t.ok(
      line.endsWith(
        `more); may still exist: security group ${groupId}: run 'toil destroy-cluster many' again to finish\n`,
      ),
      `what is left, by id: ${line}`,
    );
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
    const { instances, leader, workers, groupId } = await launchedCluster(t, endpoint, env, 'big', 7, [
      '-T',
      'slurm',
    ]);
    t.equal(workers.length, 7, 'seven workers');

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
    t.ok(endpoint.cloud.securityGroups.has(groupId), `${groupId} is there`);
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
