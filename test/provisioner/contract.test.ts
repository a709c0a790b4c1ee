import t from 'tap';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable, startMoto } from '../fixtures/motoServer.js';
import { provisionerContract } from '../fixtures/provisionerContract.js';

const { DescribeAvailabilityZonesCommand, DescribeImagesCommand } = ec2Sdk();

t.test('the provisioner contract against the local EC2 endpoint', async (t) => {
  const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
  t.teardown(() => endpoint.stop());
  provisionerContract(t, {
    name: 'local',
    client: testEc2Client(endpoint.url),
    imageId: LOCAL_IMAGE.imageId,
    zone: 'us-west-2a',
    otherZone: 'us-west-2b',
    honoursClientToken: true,
    launchesMaxCount: true,
  });
});

t.test(
  'the provisioner contract against moto_server',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const client = testEc2Client(moto.endpoint);
    const images = await client.send(new DescribeImagesCommand({}));
    provisionerContract(t, {
      name: 'moto',
      client,
      imageId: images.Images![0]!.ImageId!,
      zone: 'us-west-2a',
      otherZone: 'us-west-2b',
      honoursClientToken: false,
      launchesMaxCount: false,
    });
  },
);

/** The zones a region's client is told of: name, region and state, as a caller reads them. */
async function zonesSeen(client: EC2Client): Promise<string[]> {
  const out = await client.send(new DescribeAvailabilityZonesCommand({}));
  return (out.AvailabilityZones ?? [])
    .map((z) => `${z.ZoneName} ${z.RegionName} ${z.State} ${z.ZoneType}`)
    .sort();
}

const EU_WEST_1_ZONES = [
  'eu-west-1a eu-west-1 available availability-zone',
  'eu-west-1b eu-west-1 available availability-zone',
  'eu-west-1c eu-west-1 available availability-zone',
];

t.test(
  "the local EC2 endpoint answers a region other than its home with that region's own zones, and the contract holds there",
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const eu = testEc2Client(endpoint.url, 'eu-west-1');
    t.same(await zonesSeen(eu), EU_WEST_1_ZONES);
    t.same(
      await zonesSeen(testEc2Client(endpoint.url)),
      [
        'us-west-2a us-west-2 available availability-zone',
        'us-west-2b us-west-2 available availability-zone',
        'us-west-2c us-west-2 available availability-zone',
      ],
      'its home region keeps its own',
    );
    provisionerContract(t, {
      name: 'local eu-west-1',
      client: eu,
      imageId: LOCAL_IMAGE.imageId,
      zone: 'eu-west-1a',
      otherZone: 'eu-west-1b',
      honoursClientToken: true,
      launchesMaxCount: true,
    });
  },
);

t.test(
  'moto_server answers eu-west-1 with the same zones, in the same form',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    t.same(await zonesSeen(testEc2Client(moto.endpoint, 'eu-west-1')), EU_WEST_1_ZONES);
  },
);
