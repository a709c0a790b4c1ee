import t from 'tap';
import { ec2Sdk, iamSdk, s3Sdk } from '../../src/common/awsSdkPackages.js';
import { AWS_CONNECT_TIMEOUT_MS, createEc2Client, createIamClient } from '../../src/main/awsClients.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { startBlackHole } from '../fixtures/blackHole.js';

const { HeadBucketCommand } = s3Sdk();

const { DescribeInstancesCommand } = ec2Sdk();

/**
 * A dropped (black-holed) AWS address: a connect to it hangs for the kernel's SYN retries (over
 * two minutes) per attempt unless the client bounds it. The clients bound the connect only (a
 * request that was sent is waited out) and retry on a fresh connection.
 */

/** How the call ended, and after how long; 'still waiting' if it had not within `limitMs`. */
async function outcome(call: Promise<unknown>, limitMs: number): Promise<{ name: string; ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const name = await Promise.race([
    call.then(
      () => 'answered',
      (e: unknown) => (e as Error).name,
    ),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting'), limitMs))),
  ]);
  clearTimeout(timer);
  return { name, ms: Date.now() - started };
}

t.test(
  'an S3 call to a black-holed endpoint gives up each connect and fails as a timeout, not a hang',
  async (t) => {
    const hole = await startBlackHole();
    const s3 = createS3Client('us-west-2', { AWS_ENDPOINT_URL_S3: hole.url, ...keys }, undefined, 300);
    t.teardown(async () => {
      s3.destroy();
      await hole.close();
    });
    const attempts: number[] = [];
    s3.middlewareStack.add((next) => async (args) => (attempts.push(Date.now()), next(args)), {
      step: 'deserialize',
      name: 'countAttempts',
    });
    const r = await outcome(s3.send(new HeadBucketCommand({ Bucket: 'toil-ts-jobstore' })), 20_000);
    t.equal(r.name, 'TimeoutError', 'the connect timed out (a transient error the job store retries)');
    t.equal(attempts.length, 3, "the SDK's three attempts, each on a fresh connection");
    t.ok(r.ms >= 3 * 300, `three connects of 300 ms each (${r.ms} ms in all)`);
  },
);

t.test('an EC2 call to a black-holed endpoint fails as a timeout after its one attempt', async (t) => {
  const hole = await startBlackHole();
  const ec2 = await createEc2Client('us-west-2', keys, {
    endpoint: hole.url,
    maxAttempts: 1,
    connectTimeoutMs: 300,
  });
  t.teardown(async () => {
    ec2.destroy();
    await hole.close();
  });
  const r = await outcome(ec2.send(new DescribeInstancesCommand({})), 20_000);
  t.equal(r.name, 'TimeoutError');
  t.ok(r.ms >= 300 && r.ms < 5_000, `gave up after the connect timeout (${r.ms} ms)`);
});

t.test(`every client bounds its connects at ${AWS_CONNECT_TIMEOUT_MS} ms by default`, async (t) => {
  // A refused port answers at once; after one call each handler has resolved its configuration.
  const refused = 'http://127.0.0.1:1';
  const s3 = createS3Client('us-west-2', { AWS_ENDPOINT_URL_S3: refused, ...keys });
  const ec2 = await createEc2Client('us-west-2', keys, { endpoint: refused, maxAttempts: 1 });
  const iam = await createIamClient({ AWS_ENDPOINT_URL_IAM: refused, ...keys });
  t.teardown(() => {
    s3.destroy();
    ec2.destroy();
    iam?.destroy();
  });
  await s3.send(new HeadBucketCommand({ Bucket: 'b' })).catch(() => undefined);
  await ec2.send(new DescribeInstancesCommand({})).catch(() => undefined);
  const { ListRolesCommand } = iamSdk();
  await iam!.send(new ListRolesCommand({})).catch(() => undefined);
  for (const [name, client] of [
    ['S3', s3],
    ['EC2', ec2],
    ['IAM', iam!],
  ] as const) {
    const handler = client.config.requestHandler as { httpHandlerConfigs(): { connectionTimeout?: number } };
    t.equal(handler.httpHandlerConfigs().connectionTimeout, AWS_CONNECT_TIMEOUT_MS, name);
  }
});

const keys = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' };
