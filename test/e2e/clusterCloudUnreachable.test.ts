import { createServer } from 'node:net';
import t from 'tap';
import { endpointWithKeyPair } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { freePort } from '../fixtures/motoServer.js';

/**
 * An IAM or SSM endpoint that does not answer (a closed port: refused; a listener that takes the
 * connection and closes it: reset) made launch- and destroy-cluster print `toil: internal error:`
 * with a stack trace, and EC2's reset came out as the SDK's bare `socket hang up`. Each is now one
 * line naming the call, the service's endpoint, the cause and the variable that sets it (exit 1:
 * neither bad input nor a bug), and nothing is made. EC2 on the local cloud.
 */
t.setTimeout(180_000);

t.test(
  'launch- and destroy-cluster name an IAM, SSM or EC2 endpoint that refuses or drops the connection',
  async (t) => {
    const { endpoint, env } = await endpointWithKeyPair(t);
    const dropper = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    t.teardown(() => dropper.close());
    const address = dropper.address();
    const dropping = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const closed = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const launch = (name: string, ...more: string[]): string[] => [
      'launch-cluster',
      name,
      ...['--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-west-2a', ...more],
    ];
    const destroy = (name: string): string[] => ['destroy-cluster', name, '--zone', 'us-west-2a'];
    const refused = (service: string, url: string): string =>
      `nothing answers at the ${service} endpoint ${url} \\(ECONNREFUSED, after retries\\)`;
    const reset = (service: string, url: string): string =>
      `the ${service} endpoint ${url} took the connection and closed it without answering \\(ECONNRESET, after retries\\)`;
    const cases: [what: string, args: string[], env: Record<string, string>, line: string][] = [
      [
        'launch-cluster, IAM refused',
        launch('a'),
        { ...env, AWS_ENDPOINT_URL_IAM: closed },
        `launch-cluster: IAM GetRole: ${refused('IAM', closed)} \\(expected IAM there; AWS_ENDPOINT_URL_IAM sets the endpoint\\)`,
      ],
      [
        'launch-cluster, IAM reset',
        launch('b'),
        { ...env, AWS_ENDPOINT_URL_IAM: dropping },
        `launch-cluster: IAM GetRole: ${reset('IAM', dropping)} \\(expected IAM there; AWS_ENDPOINT_URL_IAM sets the endpoint\\)`,
      ],
      [
        'destroy-cluster, IAM reset',
        destroy('b'),
        { ...env, AWS_ENDPOINT_URL_IAM: dropping },
        `destroy-cluster: IAM GetRolePolicy: ${reset('IAM', dropping)} \\(expected IAM there; AWS_ENDPOINT_URL_IAM sets the endpoint\\)`,
      ],
      [
        'launch-cluster --clusterType slurm, SSM reset',
        launch('c', '--clusterType', 'slurm'),
        { ...env, AWS_ENDPOINT_URL_SSM: dropping },
        `launch-cluster: SSM ListTagsForResource: ${reset('SSM', dropping)} \\(expected SSM there; AWS_ENDPOINT_URL_SSM sets the endpoint\\)`,
      ],
      [
        'destroy-cluster, SSM refused',
        destroy('c'),
        { ...env, AWS_ENDPOINT_URL_SSM: closed },
        `destroy-cluster: SSM ListTagsForResource: ${refused('SSM', closed)} \\(expected SSM there; AWS_ENDPOINT_URL_SSM sets the endpoint\\)`,
      ],
      [
        'launch-cluster, EC2 reset',
        launch('d'),
        { AWS_ENDPOINT_URL_EC2: dropping },
        `EC2 DescribeAvailabilityZones: ${reset('EC2', dropping)} \\(expected EC2 there; AWS_ENDPOINT_URL_EC2 sets the endpoint\\)`,
      ],
    ];
    // Each waits out the clients' retries: side by side.
    const results = await Promise.all(cases.map(([, args, e]) => runToil(args, e, 120_000)));
    for (const [i, [what, , , line]] of cases.entries()) {
      const r = results[i]!;
      t.equal(r.code, 1, `${what}: exit 1 (${r.stderr})`);
      t.match(r.stderr, new RegExp(`^toil: ${line.replace(/[.]/g, '\\.')}\n$`), `${what}: one line`);
      t.notMatch(r.stderr, /internal error|\n\s+at /, `${what}: no stack trace`);
      t.notMatch(r.stdout, /removing what was made/, `${what}: nothing made, so nothing to remove`);
    }
    t.same(
      [...endpoint.cloud.securityGroups.values()].filter((g) => ['a', 'b', 'c', 'd'].includes(g.name)),
      [],
      'no security group made',
    );
    t.equal(endpoint.cloud.instances.size, 0, 'no instance launched');
  },
);
