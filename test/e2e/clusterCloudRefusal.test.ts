import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';

const { ImportKeyPairCommand } = ec2Sdk();

/**
 * What EC2 refuses a cluster utility (here: no capacity for the leader's type) is the cloud's
 * answer, not a bug of toil's: one line naming the call and EC2's reason, exit 1, no stack.
 */
t.setTimeout(120_000);

t.test(
  "EC2's refusal of launch-cluster's leader is one line and exit 1, not an internal error",
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const ec2 = testEc2Client(endpoint.url);
    t.teardown(() => ec2.destroy());
    await ec2.send(
      new ImportKeyPairCommand({
        KeyName: 'k',
        PublicKeyMaterial: Buffer.from(
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl k',
        ),
      }),
    );
    endpoint.faults.refuseCapacity({ instanceType: 't2.medium', market: 'on-demand' });
    const r = await runToil(
      ['launch-cluster', 'c1', '--nodeType', 't2.medium', '--keyPairName', 'k', '--zone', 'us-west-2a'],
      { AWS_ENDPOINT_URL_EC2: endpoint.url },
    );
    t.equal(r.code, 1, r.stderr);
    t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
    t.match(r.stderr, /^toil: EC2 RunInstances failed: InsufficientInstanceCapacity: /m);
  },
);
