import { createServer } from 'node:http';
import t from 'tap';
import { openObjectStore } from '../../src/main/jobStores.js';

/**
 * S3 answers a request sent to another region than the bucket's with 301 and the bucket's region
 * in x-amz-bucket-region (a HEAD with no body): the refusal names that region, as the one
 * GetBucketLocation gives on a path-style endpoint does. Here a loopback server answers so.
 */
t.test('a 301 naming the bucket region refuses the store, naming both regions', async (t) => {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(301, { 'x-amz-bucket-region': 'eu-west-1' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const store = openObjectStore('aws:us-west-2:moved-store', {
    env: {
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    },
  });
  await t.rejects(
    store.exists(),
    {
      code: 'JOBSTORE_WRONG_REGION',
      message:
        'job store aws:us-west-2:moved-store: bucket moved-store--toil is in eu-west-1, not us-west-2, so it is not used, written to or deleted (expected the region the bucket was made in: aws:eu-west-1:moved-store, or another name for a new store in us-west-2)',
    },
    'the region S3 redirects to is named',
  );
  t.same(requests, ['HEAD /moved-store--toil/'], 'one HeadBucket, not retried, and nothing more');
});
