import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import type { S3ObjectStore } from '../../src/jobstore/s3ObjectStore.js';
import { openObjectStore } from '../../src/main.js';

t.test('file: locators and bare paths open a directory store, relative to cwd', async (t) => {
  const a = openObjectStore('file:./js-sort', { cwd: '/home/u' });
  t.type(a, FileObjectStore);
  t.equal((a as FileObjectStore).root, '/home/u/js-sort');
  t.equal(a.locator, 'file:./js-sort', 'the locator is kept as the user typed it');
  t.equal(a.absoluteLocator, 'file:/home/u/js-sort', 'workers elsewhere get the absolute path');
  const b = openObjectStore('/srv/store');
  t.equal((b as FileObjectStore).root, '/srv/store');
});

t.test('aws: locators open the bucket NAME--toil in REGION', async (t) => {
  const store = openObjectStore('aws:eu-west-1:my-store', { env: {} });
  t.notOk(store instanceof FileObjectStore);
  t.equal((store as S3ObjectStore).bucket, 'my-store--toil');
  t.equal(store.absoluteLocator, 'aws:eu-west-1:my-store');
  t.equal((store as S3ObjectStore).region, 'eu-west-1');
  // The S3 client is loaded at the store's first call (a worker of a file: store never pays for
  // it); the calls below go through it to a local S3 endpoint.
});

t.test('a bad locator is a one-line user error', async (t) => {
  t.throws(() => openObjectStore('gs:bucket'), { code: 'JOBSTORE_BAD_LOCATOR', disposition: 'user' });
  t.throws(() => openObjectStore('aws:us-west-2:UPPER'), { code: 'JOBSTORE_BAD_LOCATOR' });
});

/** An S3 endpoint that answers each request with the next scripted reply (last one repeats). */
async function scriptedS3(replies: ((res: ServerResponse) => void)[]) {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => (replies[Math.min(seen.length - 1, replies.length - 1)] ?? replies[0]!)(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    seen,
    env: {
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const slowDown = (res: ServerResponse) => {
  res.writeHead(503, { 'content-type': 'application/xml' });
  res.end(
    '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
  );
};
const putOk = (res: ServerResponse) => {
  res.writeHead(200, { etag: '"abc123"' });
  res.end();
};

t.test('onRequest counts every HTTP attempt; throttling that passes is retried by the SDK', async (t) => {
  const s3 = await scriptedS3([slowDown, slowDown, putOk]);
  t.teardown(s3.close);
  const ops: string[] = [];
  const store = openObjectStore('aws:us-west-2:retry-me', { env: s3.env, onRequest: (op) => ops.push(op) });
  const info = await store.put('jobs/x', 'body');
  t.same(info, { key: 'jobs/x', size: 4, etag: 'abc123' });
  t.same(ops, ['PutObject', 'PutObject', 'PutObject'], 'three attempts, each counted');
  t.same(
    s3.seen.map((line) => line.replace(/\?.*$/, '')),
    Array(3).fill('PUT /retry-me--toil/jobs/x'),
    'path-style addressing at AWS_ENDPOINT_URL_S3',
  );
  t.equal(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, 'true', 'the Node 20 warning is off');
});

t.test('throttling that outlasts the retries becomes JobStoreUnavailableError (retry)', async (t) => {
  const s3 = await scriptedS3([slowDown]);
  t.teardown(s3.close);
  const store = openObjectStore('aws:us-west-2:always-busy', { env: s3.env });
  await t.rejects(store.put('k', 'v'), {
    code: 'JOBSTORE_UNAVAILABLE',
    disposition: 'retry',
    message: /SlowDown/,
  });
});

t.test('an S3 endpoint where nothing answers is named, with the variable that sets it', async (t) => {
  const s3 = await scriptedS3([putOk]);
  await s3.close(); // its port now refuses connections
  const store = openObjectStore('aws:us-west-2:nobody-home', { env: s3.env });
  const endpoint = s3.env.AWS_ENDPOINT_URL_S3.replace(/[.]/g, '\\.');
  await t.rejects(store.exists(), {
    code: 'JOBSTORE_UNAVAILABLE',
    disposition: 'retry',
    message: new RegExp(
      `^S3 HeadBucket on nobody-home--toil: nothing answers at the S3 endpoint ${endpoint} \\(ECONNREFUSED, after retries\\) \\(expected S3 there; AWS_ENDPOINT_URL_S3 sets the endpoint\\)$`,
    ),
  });
});

t.test(
  'an S3 endpoint that takes connections and closes them unanswered is named, with the cause',
  async (t) => {
    const dropper = createServer((req: IncomingMessage) => req.socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    t.teardown(() => dropper.close());
    const url = `http://127.0.0.1:${(dropper.address() as AddressInfo).port}`;
    const store = openObjectStore('aws:us-west-2:hangs-up', {
      env: { AWS_ENDPOINT_URL_S3: url, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
    await t.rejects(store.exists(), {
      code: 'JOBSTORE_UNAVAILABLE',
      disposition: 'retry',
      message: new RegExp(
        `^S3 HeadBucket on hangs-up--toil: the S3 endpoint ${url.replace(/[.]/g, '\\.')} took the connection and closed it without answering \\(ECONNRESET, after retries\\) \\(expected S3 there; AWS_ENDPOINT_URL_S3 sets the endpoint\\)$`,
      ),
    });
  },
);

t.test('a missing bucket is JobStoreNotFoundError', async (t) => {
  const s3 = await scriptedS3([
    (res) => {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end(
        '<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>',
      );
    },
  ]);
  t.teardown(s3.close);
  const store = openObjectStore('aws:us-west-2:gone-away', { env: s3.env });
  await t.rejects(store.get('k'), { code: 'JOBSTORE_NOT_FOUND', message: /aws:us-west-2:gone-away/ });
});

t.test('a bucket we may not use, or in another region, is a user error naming the locator', async (t) => {
  const rows: [number, RegExp][] = [
    [403, /S3 denied HeadBucket on bucket taken--toil .*another AWS account/],
    [301, /bucket taken--toil is not in us-west-2/],
  ];
  for (const [status, message] of rows) {
    const s3 = await scriptedS3([
      (res) => {
        res.writeHead(status);
        res.end();
      },
    ]);
    const store = openObjectStore('aws:us-west-2:taken', { env: s3.env });
    await t.rejects(
      store.create(),
      { code: 'JOBSTORE_ACCESS', disposition: 'user', message },
      `HTTP ${status}`,
    );
    t.same(
      s3.seen.map((line) => line.replace(/\?.*$/, '')),
      ['HEAD /taken--toil/'],
      'create asked whether the bucket exists, and stopped there',
    );
    await s3.close();
  }
});
