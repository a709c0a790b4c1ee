import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable, startMoto } from '../fixtures/motoServer.js';

const { DescribeImagesCommand, RunInstancesCommand } = ec2Sdk();

/**
 * An image ID not of EC2's form (`ami-` and 8 or 17 lowercase hex digits) is answered as EC2
 * answers it, InvalidAMIID.Malformed, at DescribeImages and RunInstances; a well-formed one the
 * region lacks is InvalidAMIID.NotFound. The local cloud answered NotFound for both, so a check of
 * the form in toil-ts and the cloud's own answer could not be told apart. moto checks the prefix
 * alone: compared where it checks.
 */
/** What the cloud answers a call with: `accepted`, or the error's name and message. */
async function answer(send: () => Promise<unknown>): Promise<string> {
  return send().then(
    () => 'accepted',
    (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`,
  );
}

const run = (imageId: string) =>
  new RunInstancesCommand({
    ImageId: imageId,
    InstanceType: 't2.medium',
    MinCount: 1,
    MaxCount: 1,
    Placement: { AvailabilityZone: 'us-west-2a' },
  });

t.test('the local cloud answers a malformed image ID InvalidAMIID.Malformed, as EC2 does', async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  const ec2 = testEc2Client(endpoint.url);
  t.teardown(() => ec2.destroy());
  for (const id of ['ami-xyz', 'notanami', 'ami-0123456789ABCDEF0', 'ami-0123456789abcdef', 'ami-0123456']) {
    const malformed = `InvalidAMIID.Malformed: Invalid id: "${id}" (expecting "ami-...")`;
    t.equal(
      await answer(() => ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))),
      malformed,
      `DescribeImages ${id}`,
    );
    t.equal(await answer(() => ec2.send(run(id))), malformed, `RunInstances ${id}`);
  }
  for (const id of ['ami-01234567', 'ami-0123456789abcdef0'])
    t.equal(
      await answer(() => ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))),
      `InvalidAMIID.NotFound: The image id '[${id}]' does not exist`,
      `DescribeImages ${id}: well formed, not there`,
    );
  t.equal(endpoint.cloud.instances.size, 0, 'nothing launched');
  t.equal(await answer(() => ec2.send(run(LOCAL_IMAGE.imageId))), 'accepted', 'its own image launches');
});

t.test(
  'moto_server answers an ID without the ami- prefix InvalidAMIID.Malformed, as the local cloud does',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const ec2 = testEc2Client(moto.endpoint);
    t.teardown(() => ec2.destroy());
    t.equal(
      await answer(() => ec2.send(new DescribeImagesCommand({ ImageIds: ['notanami'] }))),
      'InvalidAMIID.Malformed: Invalid id: "notanami" (expecting "ami-...")',
      'DescribeImages notanami',
    );
  },
);
