import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { MIN_PART_SIZE } from '../../src/jobstore/s3ObjectStore.js';
import { openObjectStore } from '../../src/main.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Env, startMoto } from '../fixtures/motoServer.js';
import { damageFile, integrityContract, s3Damager, uniqueName } from '../fixtures/objectStoreContract.js';
import { startS3rver } from '../fixtures/s3rver.js';

const { HeadObjectCommand, S3Client } = s3Sdk();

// Damaged objects (truncated, a byte changed, overwritten by another tool) on every backend: a
// read reports JOBSTORE_CORRUPT naming the object and never returns the damaged bytes.

t.test('file: backend', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'objectstore-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  integrityContract(t, {
    open: (name) => openObjectStore(`file:${name}`, { cwd: dir }),
    enforcesConditions: true,
    paginatePastOnePage: false,
    damage: damageFile,
  });
});

t.test(
  'aws: backend against s3rver (which keeps no checksums: the metadata is what catches it)',
  async (t) => {
    const server = await startS3rver();
    t.teardown(() => server.stop());
    integrityContract(t, {
      open: (name) => openObjectStore(`aws:us-west-2:${name}`, { env: server.env, partSize: MIN_PART_SIZE }),
      enforcesConditions: false,
      partSize: MIN_PART_SIZE,
      paginatePastOnePage: false,
      damage: s3Damager(server.env),
    });
  },
);

t.test(
  'aws: backend against moto_server (which keeps S3 SHA-256 checksums)',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const env = motoS3Env(moto);
    integrityContract(t, {
      open: (name) => openObjectStore(`aws:us-west-2:${name}`, { env, partSize: MIN_PART_SIZE }),
      enforcesConditions: true,
      partSize: MIN_PART_SIZE,
      paginatePastOnePage: false,
      damage: s3Damager(env),
    });

    t.test('S3 keeps its own SHA-256 of every object, equal to the bytes', async (t) => {
      const store = openObjectStore(`aws:us-west-2:${uniqueName()}`, { env, partSize: MIN_PART_SIZE });
      await store.create();
      t.teardown(() => store.destroy());
      const small = Buffer.from('a small record');
      const big = randomBytes(MIN_PART_SIZE + 10);
      await store.put('records/small', small);
      await store.putStream('files/big', Readable.from([big]));
      const s3 = new S3Client({
        region: 'us-west-2',
        endpoint: moto.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      t.teardown(() => s3.destroy());
      for (const [key, body] of [
        ['records/small', small],
        ['files/big', big],
      ] as const) {
        const head = await s3.send(
          new HeadObjectCommand({
            Bucket: `${store.locator.split(':')[2]}--toil`,
            Key: key,
            ChecksumMode: 'ENABLED',
          }),
        );
        t.equal(
          head.ChecksumSHA256,
          createHash('sha256').update(body).digest('base64'),
          `${key}: S3's SHA-256`,
        );
        t.same(
          head.Metadata,
          {
            'toil-sha256': createHash('sha256').update(body).digest('hex'),
            'toil-length': String(body.length),
          },
          `${key}: the store's length and SHA-256`,
        );
      }
    });
  },
);
