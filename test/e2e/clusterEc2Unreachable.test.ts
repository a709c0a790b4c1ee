import t from 'tap';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { freePort } from '../fixtures/motoServer.js';

/**
 * A cluster utility pointed at an EC2 endpoint where nothing listens says so in one line, naming
 * the endpoint and the variable that sets it (the SDK's own "connect ECONNREFUSED 127.0.0.1:PORT"
 * names neither), and exits 1: an endpoint that does not answer is neither bad input nor a bug.
 */
t.setTimeout(180_000);

t.test(
  'launch-cluster and destroy-cluster against a closed EC2 port name the endpoint and AWS_ENDPOINT_URL_EC2',
  async (t) => {
    const endpoint = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const commands = [
      ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-west-2a'],
      ['destroy-cluster', 'c1', '--zone', 'us-west-2a'],
    ];
    // Each spends most of its time waiting out the EC2 client's retries: side by side.
    const results = await Promise.all(
      commands.map((args) => runToil(args, { AWS_ENDPOINT_URL_EC2: endpoint })),
    );
    for (const [i, args] of commands.entries()) {
      const r = results[i]!;
      t.equal(r.code, 1, `${args[0]}: exit 1 (${r.stderr})`);
      t.match(
        r.stderr,
        new RegExp(
          `^toil: EC2 Describe\\w+: nothing answers at the EC2 endpoint ${endpoint.replace(/[.]/g, '\\.')} \\(ECONNREFUSED, after retries\\) \\(expected EC2 there; AWS_ENDPOINT_URL_EC2 sets the endpoint\\)\n$`,
        ),
        `${args[0]}: one line naming the endpoint, why, and the variable that sets it`,
      );
      t.notMatch(r.stderr, /internal error|\n\s+at /, `${args[0]}: no stack trace`);
    }
  },
);
