import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { MIN_PART_SIZE } from '../../src/jobstore/s3ObjectStore.js';
import { openObjectStore } from '../../src/main.js';
import {
  MOTO_MISSING_REASON,
  motoAvailable,
  motoS3Client,
  motoS3Env,
  startMoto,
} from '../fixtures/motoServer.js';
import { listAll, objectStoreContract, uniqueName } from '../fixtures/objectStoreContract.js';
import { startS3rver } from '../fixtures/s3rver.js';

const { GetBucketEncryptionCommand, GetPublicAccessBlockCommand } = s3Sdk();

// Every target goes through openObjectStore, so the locator parsing and the S3 client wiring
// (AWS_ENDPOINT_URL_S3, path-style, checksums) are what is tested, not a hand-built client.

t.test('file: backend', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'objectstore-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  objectStoreContract(t, {
    open: (name) => openObjectStore(`file:${name}`, { cwd: dir }),
    enforcesConditions: true,
    paginatePastOnePage: false,
  });
});

t.test('aws: backend against s3rver', async (t) => {
  const server = await startS3rver();
  t.teardown(() => server.stop());
  objectStoreContract(t, {
    open: (name) => openObjectStore(`aws:us-west-2:${name}`, { env: server.env, partSize: MIN_PART_SIZE }),
    enforcesConditions: false,
    conditionsSkip: 's3rver ignores If-None-Match/If-Match on PUT (the store detects this and says so)',
    partSize: MIN_PART_SIZE,
    paginatePastOnePage: true,
    prefixKeyOrderSkip: "s3rver lists 'a/b' before 'a' (S3 and moto order by UTF-8 bytes)",
  });
});

t.test(
  'aws: backend against moto_server',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const env = motoS3Env(moto);
    objectStoreContract(t, {
      open: (name) => openObjectStore(`aws:us-west-2:${name}`, { env, partSize: MIN_PART_SIZE }),
      enforcesConditions: true,
      racyConditions:
        'moto_server (5.x) looks the key up, then stores the PUT, on a threaded server: two creators racing for one key can both win (seen in CI); S3 itself lets one win',
      partSize: MIN_PART_SIZE,
      // s3rver already pages past 1000 keys, and runs wherever the tests do; once is enough.
      paginatePastOnePage: false,
    });

    t.test('the bucket a job store creates blocks public access and encrypts by default', async (t) => {
      const name = uniqueName();
      const store = openObjectStore(`aws:us-west-2:${name}`, { env });
      await store.create();
      t.teardown(() => store.destroy());
      const s3 = motoS3Client(moto);
      t.teardown(() => s3.destroy());
      const pab = await s3.send(new GetPublicAccessBlockCommand({ Bucket: `${name}--toil` }));
      t.same(pab.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      });
      const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket: `${name}--toil` }));
      t.same(
        enc.ServerSideEncryptionConfiguration?.Rules?.map(
          (r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
        ),
        ['AES256'],
      );
    });

    t.test('each operation costs the S3 requests the job store budgets for', async (t) => {
      const calls: string[] = [];
      const store = openObjectStore(`aws:us-west-2:${uniqueName()}`, {
        env,
        partSize: MIN_PART_SIZE,
        onRequest: (op) => calls.push(op),
      });
      await store.create();
      t.teardown(() => store.destroy());
      await store.enforcesConditions(); // the one-time probe, outside the counts below
      const cost = async (what: () => Promise<unknown>): Promise<string[]> => {
        calls.length = 0;
        await what();
        return [...calls];
      };
      const put = await store.put('jobs/a', 'x');
      t.same(await cost(() => store.put('jobs/b', 'y')), ['PutObject'], 'put: one request');
      t.same(await cost(() => store.get('jobs/a')), ['GetObject'], 'get: one request');
      t.same(await cost(() => store.head('jobs/a')), ['HeadObject'], 'head: one request');
      t.same(
        await cost(() => store.put('jobs/a', 'z', { ifMatch: put.etag })),
        ['PutObject'],
        'conditional put: one request',
      );
      t.same(await cost(() => listAll(store, 'jobs/')), ['ListObjectsV2'], 'list of one page: one request');
      t.same(
        await cost(() => store.deleteMany(['jobs/a', 'jobs/b'])),
        ['DeleteObjects'],
        'deleteMany: one request',
      );
      t.same(
        await cost(() => store.putStream('files/small', Readable.from([Buffer.alloc(1000)]))),
        ['PutObject'],
        'putStream of a body under one part: a single PUT',
      );
      const parts = await cost(() =>
        store.putStream('files/big', Readable.from([Buffer.alloc(2 * MIN_PART_SIZE + 1, 7)])),
      );
      t.same(
        parts.sort(),
        [
          'CompleteMultipartUpload',
          'CopyObject',
          'CreateMultipartUpload',
          'UploadPart',
          'UploadPart',
          'UploadPart',
        ],
        'putStream past two parts: a multipart upload of three parts, then one copy to attach its checksum',
      );
    });
  },
);
