import t from 'tap';
import { createEc2Client, createIamClient, createS3Client } from '../../src/main.js';

/**
 * The AWS clients are built in one place (src/main/awsClients.ts) with one reading of endpoints
 * and credentials: temporary credentials keep their session token in every client (the leader's
 * own EC2 client once dropped it), a local endpoint without keys gets placeholders, and the
 * leader's client makes one attempt per call (the scaler tick's retry layer is the only one).
 */
const temporary = {
  AWS_ACCESS_KEY_ID: 'ASIATEMPORARY0000000',
  AWS_SECRET_ACCESS_KEY: 'temporary-secret',
  AWS_SESSION_TOKEN: 'the-session-token',
};

t.test('temporary credentials keep their session token in EC2, S3 and IAM clients', async (t) => {
  const ec2 = await createEc2Client('us-west-2', temporary);
  const s3 = createS3Client('us-west-2', temporary);
  const iam = await createIamClient({ ...temporary, AWS_ENDPOINT_URL_IAM: 'http://127.0.0.1:1' });
  t.teardown(() => {
    ec2.destroy();
    s3.destroy();
    iam?.destroy();
  });
  for (const [name, client] of [
    ['EC2', ec2],
    ['S3', s3],
    ['IAM', iam!],
  ] as const) {
    const creds = await client.config.credentials();
    t.equal(creds.accessKeyId, temporary.AWS_ACCESS_KEY_ID, `${name}: the environment's key`);
    t.equal(creds.sessionToken, 'the-session-token', `${name}: the session token is kept`);
  }
});

t.test("the leader's EC2 client on the local cloud: placeholder keys, one attempt", async (t) => {
  const ec2 = await createEc2Client('us-west-2', {}, { endpoint: 'http://127.0.0.1:4567', maxAttempts: 1 });
  t.teardown(() => ec2.destroy());
  const creds = await ec2.config.credentials();
  t.equal(creds.accessKeyId, 'AKIDLOCALCLOUD000000', 'placeholder keys for an endpoint on this machine');
  t.equal(creds.sessionToken, undefined);
  t.equal(await ec2.config.maxAttempts(), 1, 'the SDK makes one attempt; the tick retries');
  t.match(await ec2.config.endpoint!(), { hostname: '127.0.0.1', port: 4567 }, 'the local endpoint');
});

t.test('no IAM client for a cluster on the local cloud with no IAM endpoint named', async (t) => {
  t.equal(await createIamClient({ AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:4567' }), undefined);
});
