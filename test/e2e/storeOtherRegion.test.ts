import { join } from 'node:path';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { MOTO_MISSING_REASON, motoAvailable, motoWithS3 } from '../fixtures/motoServer.js';
import { bucketOf, bucketSnapshot } from '../fixtures/storeSnapshot.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');
const sortArgs = (locator: string): string[] => [
  'run',
  SORT,
  locator,
  '--numLines',
  '20',
  '--N',
  '400',
  '--outputFile',
  'sorted.txt',
];

// Two small sorts and a few commands on moto, on a busy two-core machine.
t.setTimeout(240_000);

t.test(
  'an aws: job store whose bucket is in another region is refused by status, clean and run, in one line, and left as it was',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { env, s3 } = await motoWithS3(t);
    const dir = testDir(t);
    for (const made of ['aws:eu-west-1:far-store', 'aws:us-east-1:east-store']) {
      const r = await runToil([...sortArgs(made), '--clean', 'never'], { cwd: dir, env });
      t.equal(r.code, 0, r.code === 0 ? `${made} made` : r.stderr);
    }
    const { GetBucketLocationCommand } = s3Sdk();
    const location = async (locator: string) =>
      (await s3.send(new GetBucketLocationCommand({ Bucket: bucketOf(locator) }))).LocationConstraint;
    t.equal(await location('aws:eu-west-1:far-store'), 'eu-west-1', "moto keeps the bucket's region");
    t.notOk(await location('aws:us-east-1:east-store'), 'and answers us-east-1 with no constraint, as S3');
    const before = {
      far: await bucketSnapshot(s3, 'aws:eu-west-1:far-store'),
      east: await bucketSnapshot(s3, 'aws:us-east-1:east-store'),
    };

    const refusals: [string[], string, string][] = [
      [['status', 'aws:us-west-2:far-store'], 'eu-west-1', 'us-west-2'],
      [['status', 'aws:us-east-1:far-store'], 'eu-west-1', 'us-east-1'],
      [['status', 'aws:us-west-2:east-store'], 'us-east-1', 'us-west-2'],
      [['clean', 'aws:us-west-2:far-store'], 'eu-west-1', 'us-west-2'],
      [['clean', 'aws:us-west-2:east-store'], 'us-east-1', 'us-west-2'],
      [[...sortArgs('aws:us-west-2:far-store'), '--restart'], 'eu-west-1', 'us-west-2'],
      [sortArgs('aws:us-west-2:far-store'), 'eu-west-1', 'us-west-2'],
    ];
    for (const [args, bucketRegion, asked] of refusals) {
      const locator = args.find((a) => a.startsWith('aws:'))!;
      const name = locator.split(':')[2]!;
      const r = await runToil(args, { cwd: dir, env });
      const what =
        args.slice(0, args[0] === 'run' ? 1 : 2).join(' ') + (args.includes('--restart') ? ' --restart' : '');
      t.equal(r.code, 2, `${what} ${locator}: exit 2`);
      t.equal(r.stdout, '', `${what} ${locator}: nothing on stdout (no status, no "deleted")`);
      t.equal(
        r.stderr,
        `toil: job store ${locator}: bucket ${name}--toil is in ${bucketRegion}, not ${asked}, so it is not used, written to or deleted (expected the region the bucket was made in: aws:${bucketRegion}:${name}, or another name for a new store in ${asked})\n`,
        `${what} ${locator}: one line naming the store, the bucket's region and the one asked for`,
      );
    }

    t.same(
      await bucketSnapshot(s3, 'aws:eu-west-1:far-store'),
      before.far,
      'far-store: nothing written or deleted',
    );
    t.same(
      await bucketSnapshot(s3, 'aws:us-east-1:east-store'),
      before.east,
      'east-store: nothing written or deleted',
    );
    for (const locator of ['aws:eu-west-1:far-store', 'aws:us-east-1:east-store']) {
      const status = await runToil(['status', locator, '--json'], { cwd: dir, env });
      t.equal(
        status.code,
        0,
        status.code === 0 ? `${locator}: its own locator still reads it` : status.stderr,
      );
      t.match(
        JSON.parse(status.stdout || '{}'),
        { finished: true },
        `${locator}: the finished workflow is there`,
      );
    }
  },
);
