import t, { type Test } from 'tap';
import { importTestKeyPair, startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

// Two launch-cluster runs against an endpoint in this process; a busy two-core machine is slow.
t.setTimeout(180_000);

/** A local EC2 endpoint with the key pair 'k', stopped when the test ends. */
async function endpointWithKeyPair(t: Test): Promise<Awaited<ReturnType<typeof startTestEndpoint>>> {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const client = testEc2Client(endpoint.url);
  t.teardown(() => client.destroy());
  await importTestKeyPair(client, 'k');
  return endpoint;
}

t.test(
  'launch-cluster that gets fewer workers than -w asked for says how many and exits 1, leaving the cluster for destroy-cluster',
  async (t) => {
    const endpoint = await endpointWithKeyPair(t);
    // EC2 has one m5.large to give: the other two are refused for capacity.
    endpoint.faults.limitCapacity({ instanceType: 'm5.large', remaining: 1 });
    const env = { AWS_ENDPOINT_URL_EC2: endpoint.url };
    const launch = (name: string, type: string) =>
      runToil(
        [
          'launch-cluster',
          name,
          ...['--leaderNodeType', 't2.medium', '--nodeTypes', type, '-w', '3'],
          ...['--zone', 'us-west-2a', '--keyPairName', 'k'],
        ],
        env,
      );

    const short = await launch('short', 'm5.large');
    t.equal(short.code, 1, 'exit 1: not the cluster asked for');
    t.equal(
      short.stderr.trim(),
      "toil: got 1 of the 3 workers asked for (-w 3); cluster 'short' is left up with them: use it as it is, or remove it with 'toil destroy-cluster short'",
    );
    t.match(short.stdout, /cluster 'short' is up: leader i-\w+ \(.*\), 1 worker\(s\)/);
    const live = [...endpoint.cloud.instances.values()].filter(
      (i) => i.tags.get('clusterName') === 'short' && i.state === 'running',
    );
    t.equal(live.length, 2, 'the leader and the one worker it got are left running');

    const whole = await launch('whole', 't2.medium');
    t.equal(whole.code, 0, `every worker asked for: exit 0 (${whole.stderr})`);
    t.equal(whole.stderr, '', 'and nothing on stderr');

    // --nodeType alone (the README's form): the type the leader's daemon scales, no static worker.
    const none = await runToil(
      ['launch-cluster', 'none', '--nodeType', 't2.medium', '--zone', 'us-west-2a', '--keyPairName', 'k'],
      env,
    );
    t.equal(none.code, 0, none.stderr);
    t.notMatch(none.stdout, /worker\(s\) launched/, 'no line about workers none were asked for');
    t.match(none.stdout, /cluster 'none' is up: leader i-\w+ \(.*\), 0 worker\(s\)/);
  },
);

t.test(
  'launch-cluster whose workers an account limit refuses keeps the cluster and says how many it got, as for missing capacity',
  async (t) => {
    const endpoint = await endpointWithKeyPair(t);
    // The t2.medium leader (2 vCPUs) and one m5.large (2) fit under 4 vCPUs; the second does not.
    endpoint.faults.onDemandVcpuLimit = 4;
    const r = await runToil(
      [
        'launch-cluster',
        'limited',
        ...['--leaderNodeType', 't2.medium', '--nodeTypes', 'm5.large', '-w', '2'],
        ...['--zone', 'us-west-2a', '--keyPairName', 'k'],
      ],
      { AWS_ENDPOINT_URL_EC2: endpoint.url },
    );
    t.equal(r.code, 1, 'exit 1: not the cluster asked for');
    t.match(r.stdout, /on-demand m5\.large workers refused: .*VcpuLimitExceeded[^\n]*: 1 of 2 launched/);
    t.equal(
      r.stderr.trim(),
      "toil: got 1 of the 2 workers asked for (-w 2); cluster 'limited' is left up with them: use it as it is, or remove it with 'toil destroy-cluster limited'",
    );
  },
);
