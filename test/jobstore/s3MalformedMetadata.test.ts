import t from 'tap';
import type { S3ObjectStore } from '../../src/jobstore/s3ObjectStore.js';
import { openObjectStore } from '../../src/main/jobStores.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { uniqueName } from '../fixtures/objectStoreContract.js';
import { replaceMetadata, startS3rver } from '../fixtures/s3rver.js';

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
    const s3 = createS3Client('us-west-2', server.env);
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
      await replaceMetadata(s3, Bucket, key, Metadata);
      await t.rejects(store.get(key), { code: 'JOBSTORE_CORRUPT', message }, name);
    }
  },
);
