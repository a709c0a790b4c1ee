import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import type { S3ObjectStore } from '../../src/jobstore/s3ObjectStore.js';
import { openObjectStore } from '../../src/main/jobStores.js';
import { uniqueName } from '../fixtures/objectStoreContract.js';
import { startS3rver } from '../fixtures/s3rver.js';

const { CopyObjectCommand, S3Client } = s3Sdk();

// An object whose integrity metadata something else rewrote was reported as carrying none, also
// when it carried values that were only wrong: the report now names the key and the value.
t.test(
  'an S3 object whose integrity metadata is malformed is damaged, naming what is wrong with it',
  async (t) => {
    const server = await startS3rver();
    t.teardown(() => server.stop());
    const store = openObjectStore(`aws:us-west-2:${uniqueName()}`, { env: server.env });
    await store.create();
    t.teardown(() => store.destroy());
    const s3 = new S3Client({
      region: 'us-west-2',
      endpoint: server.env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      credentials: {
        accessKeyId: server.env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: server.env.AWS_SECRET_ACCESS_KEY!,
      },
    });
    t.teardown(() => s3.destroy());
    const rows: [string, Record<string, string>, RegExp][] = [
      ['none', {}, /carries no length and SHA-256 metadata \(it was overwritten/],
      [
        'both malformed',
        { 'toil-sha256': 'nothex', 'toil-length': 'abc' },
        /carries malformed length and SHA-256 metadata: toil-sha256 "nothex" is not 64 hex digits, toil-length "abc" is not a whole number of bytes \(it was overwritten/,
      ],
      [
        'a length alone',
        { 'toil-length': '3' },
        /carries malformed length and SHA-256 metadata: no toil-sha256 \(/,
      ],
      [
        'a negative length',
        { 'toil-sha256': 'a'.repeat(64), 'toil-length': '-1' },
        /metadata: toil-length "-1" is not a whole number of bytes \(/,
      ],
    ];
    const Bucket = (store as unknown as S3ObjectStore).bucket;
    for (const [name, Metadata, message] of rows) {
      const key = `m/${name.replace(/ /g, '-')}`;
      await store.put(key, 'abc');
      await s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: key,
          CopySource: `${Bucket}/${key}`,
          MetadataDirective: 'REPLACE',
          Metadata,
        }),
      );
      await t.rejects(store.get(key), { code: 'JOBSTORE_CORRUPT', message }, name);
    }
  },
);
