import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { RealClock } from '../src/common/clock.js';
import { silentLogger } from '../src/common/log.js';
import { LOCAL_IMAGE } from '../src/localcloud/ec2/catalogue.js';
import { startEc2Endpoint } from '../src/localcloud/ec2/server.js';

/** Calls per second the local EC2 endpoint answers through the real SDK (JSON lines). */
export default async function bench(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 3);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = await startEc2Endpoint({ clock: new RealClock(), log: silentLogger(), bootDelayMs: 0 });
  const ec2 = new EC2Client({
    region: 'us-west-2',
    endpoint: endpoint.url,
    credentials: { accessKeyId: 'AKIDBENCH00000000000', secretAccessKey: 'bench' },
  });
  const emit = (o: Record<string, unknown>): void =>
    void process.stdout.write(`${JSON.stringify({ bench: 'ec2Endpoint', ...o })}\n`);
  try {
    const run = async (
      name: string,
      concurrency: number,
      call: (i: number) => Promise<unknown>,
    ): Promise<void> => {
      let n = 0;
      const end = Date.now() + seconds * 1000;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (Date.now() < end) await call(n++);
        }),
      );
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      emit({ case: name, concurrency, calls: n, callsPerSecond: Math.round(n / s) });
    };
    await run('RunInstances (1 instance, ClientToken)', 8, (i) =>
      ec2.send(
        new RunInstancesCommand({
          ImageId: LOCAL_IMAGE.imageId,
          InstanceType: 't2.micro',
          MinCount: 1,
          MaxCount: 1,
          ClientToken: `bench-${i}`,
        }),
      ),
    );
    emit({ case: 'instances in region', count: endpoint.cloud.instances.size });
    const filters = [
      { Name: 'instance-type', Values: ['t2.micro'] },
      { Name: 'instance-state-name', Values: ['running'] },
    ];
    await run('DescribeInstances (first page of 5)', 1, () =>
      ec2.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 5 })),
    );
    await run('DescribeInstances (first page of 5)', 8, () =>
      ec2.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 5 })),
    );
  } finally {
    ec2.destroy();
    await endpoint.stop();
  }
}
