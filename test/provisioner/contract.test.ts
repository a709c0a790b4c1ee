import t from 'tap';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';
import { MOTO_MISSING_REASON, motoAvailable, startMoto } from '../fixtures/motoServer.js';
import { provisionerContract } from '../fixtures/provisionerContract.js';

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
