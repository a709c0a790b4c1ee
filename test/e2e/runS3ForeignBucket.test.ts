import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import {
  MOTO_MISSING_REASON,
  motoAvailable,
  motoS3Client,
  motoS3Env,
  startMoto,
} from '../fixtures/motoServer.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

const { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } = s3Sdk();

const SORT = join(REPO_ROOT, 'examples/sort.ts');

t.setTimeout(180_000);

t.test(
  'a bucket named NAME--toil that toil did not make is never written to or deleted: run, --restart, clean and status refuse it, naming an object in it',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const env = motoS3Env(moto);
    const dir = mkdtempSync(join(tmpdir(), 'toil-s3-foreign-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const s3 = motoS3Client(moto);
    t.teardown(() => s3.destroy());
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'mydata--toil',
        CreateBucketConfiguration: { LocationConstraint: 'us-west-2' },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'mydata--toil', Key: 'precious.csv', Body: 'a,b\n' }));
    const locator = 'aws:us-west-2:mydata';
    const commands = [
      ['run', SORT, locator, '--numLines', '100', '--restart'],
      ['run', SORT, locator, '--numLines', '100'],
      ['clean', locator],
      ['status', locator],
    ];
    for (const args of commands) {
      const r = await runToil(args, { cwd: dir, env });
      t.equal(r.code, 2, `toil ${args[0]}${args.includes('--restart') ? ' --restart' : ''}: exit 2`);
      t.match(
        r.stderr,
        /^toil: job store aws:us-west-2:mydata: bucket mydata--toil exists and holds objects no job store wrote \(e\.g\. 'precious\.csv'; no leader\.json\), so it is not used, written to or deleted/,
      );
    }
    const left = await s3.send(new ListObjectsV2Command({ Bucket: 'mydata--toil' }));
    t.same(
      (left.Contents ?? []).map((o) => o.Key),
      ['precious.csv'],
      'the bucket holds what it held, and nothing of a job store',
    );
  },
);
