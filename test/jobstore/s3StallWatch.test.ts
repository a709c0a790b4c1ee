import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import { parseLocator } from '../../src/jobstore/locator.js';
import { S3ObjectStore } from '../../src/jobstore/s3ObjectStore.js';
import { watchS3Stalls } from '../../src/jobstore/s3StallWatch.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { capturedLog, type LogLine } from '../fixtures/leaderFakes.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Env, startMoto } from '../fixtures/motoServer.js';
import { waitFor } from '../fixtures/waitFor.js';

t.setTimeout(120_000);

/**
 * An S3 client of a local server answering every request with `respond`, watched for stalls
 * with a 1 s threshold: the client, the server's endpoint and the lines the watch logs.
 */
async function watchedClientOf(
  t: Test,
  respond: (res: ServerResponse) => void,
  waiter?: string,
): Promise<{ client: S3Client; endpoint: string; lines: LogLine[] }> {
  const server = createServer((_req, res) => respond(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createS3Client('us-west-2', {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  });
  t.teardown(() => client.destroy());
  const { destination, lines } = capturedLog();
  watchS3Stalls(client, {
    endpoint,
    bucket: 'b--toil',
    log: createLogger({ level: 'info', destination }),
    clock: new RealClock(),
    warnAfterMs: 1_000,
    repeatMs: 60_000,
    ...(waiter !== undefined ? { waiter } : {}),
  });
  return { client, endpoint, lines };
}

t.test(
  'an S3 endpoint that stops answering is named in a WARN within the threshold, and its return in an INFO',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const { destination, lines } = capturedLog();
    const locator = parseLocator('aws:us-west-2:stall-watch');
    if (locator.kind !== 'aws') throw new Error('expected an aws: locator');
    const client = createS3Client('us-west-2', motoS3Env(moto));
    t.teardown(() => client.destroy());
    const store = new S3ObjectStore({ client, locator });
    await store.create();
    await store.put('a', 'one');
    await store.get('a');
    // Watched from here on: moto's first calls of a kind are slow while it loads their code.
    watchS3Stalls(client, {
      endpoint: moto.endpoint,
      bucket: locator.bucket,
      log: createLogger({ level: 'info', destination }),
      clock: new RealClock(),
      warnAfterMs: 1_000,
      repeatMs: 60_000,
    });
    await store.put('a', 'one');
    t.same(lines, [], 'calls S3 answers at once log nothing');

    moto.signal('SIGSTOP');
    const stalledAt = Date.now();
    const put = store.put('b', 'two');
    await waitFor('a stall warning', () => lines.length > 0);
    const warnedAfter = Date.now() - stalledAt;
    t.ok(warnedAfter >= 1_000 && warnedAfter < 5_000, `warned ${warnedAfter} ms into the stall`);
    t.match(lines[0], {
      level: 40,
      msg: new RegExp(
        `^S3 at ${moto.endpoint.replace(/\./g, '\\.')} has not answered PutObject on bucket stall-watch--toil for \\d+ s: the leader waits for it`,
      ),
    });
    // A second call waiting on the same stall adds no second warning.
    const get = store.get('a');
    await new Promise((r) => setTimeout(r, 1_500));
    t.equal(lines.filter((l) => l.level === 40).length, 1, 'one stall, one warning');

    moto.signal('SIGCONT');
    await put;
    t.equal((await get)?.body.toString(), 'one', 'the waiting calls complete once S3 answers');
    t.match(lines.at(-1), {
      level: 30,
      msg: new RegExp(`^S3 at .* answers again \\(it was silent for \\d+ s\\)`),
    });
    t.equal((await store.get('b'))?.body.toString(), 'two');

    // A call sending a body gets the time to send it at 1 MiB/s before it counts as silent.
    const warned = lines.filter((l) => l.level === 40).length;
    moto.signal('SIGSTOP');
    const bigAt = Date.now();
    const big = store.put('big', Buffer.alloc(3 * 2 ** 20, 1));
    await waitFor(
      'a stall warning for the 3 MiB put',
      () => lines.filter((l) => l.level === 40).length > warned,
      15_000,
    );
    const bigWarnedAfter = Date.now() - bigAt;
    t.ok(bigWarnedAfter >= 4_000, `a 3 MiB put is not called silent before 1 s + 3 s (${bigWarnedAfter} ms)`);
    moto.signal('SIGCONT');
    await big;
  },
);

// The call's own watch ends with the response's headers; a server that then stops in the middle
// of the body left whoever read it (toil status reads every object's) waiting with nothing said.
// S3 sends the SHA-256 of an object stored with one (toil-ts stores every object so), and the SDK
// then hands over the body wrapped in a stream that checks it, not the connection's own.
for (const [sent, checksum] of [
  ['a body', {}],
  [
    'a body with its SHA-256',
    { 'x-amz-checksum-sha256': createHash('sha256').update('helloworld').digest('base64') },
  ],
] as const) {
  t.test(
    `an S3 endpoint that stops in the middle of ${sent} it sends is named in a WARN with the object, and its return in an INFO`,
    async (t) => {
      let finish: (() => void) | undefined;
      const { client, endpoint, lines } = await watchedClientOf(
        t,
        (res) => {
          res.writeHead(200, {
            'Content-Length': '10',
            'Content-Type': 'application/octet-stream',
            ETag: '"e"',
            ...checksum,
          });
          res.write('hello');
          finish = () => res.end('world');
        },
        'toil status',
      );
      const { GetObjectCommand } = s3Sdk();
      // The stall begins once the first bytes are in, some time after the request went out and
      // before the call returns: timed from the request, a warning is never early by the clock.
      const startedAt = Date.now();
      const out = await client.send(
        new GetObjectCommand({ Bucket: 'b--toil', Key: 'commits/j1', ChecksumMode: 'ENABLED' }),
      );
      t.same(lines, [], 'the headers came at once: nothing said yet');
      const body = out.Body!.transformToString();
      await waitFor('a stall warning for the body', () => lines.length > 0, 5_000);
      const warnedAfter = Date.now() - startedAt;
      t.ok(warnedAfter >= 1_000 && warnedAfter < 4_000, `warned ${warnedAfter} ms into the stall`);
      // The warning says how long it waited: 1 s, or more when a loaded machine ran the timer late.
      const said = /for (\d+) s: /.exec(String(lines[0]?.msg))?.[1];
      t.match(lines[0], {
        level: 40,
        msg: `S3 at ${endpoint} has not answered GetObject of commits/j1 (the rest of its body) on bucket b--toil for ${said} s: toil status waits for it (Ctrl-C stops the wait); check that the endpoint is up and reachable`,
      });
      t.ok(
        Number(said) >= 1 && Number(said) <= Math.ceil(warnedAfter / 1000),
        `the wait it names (${said} s) is what it waited (${warnedAfter} ms)`,
      );
      finish!();
      t.equal(await body, 'helloworld', 'the body completes once S3 sends the rest');
      await waitFor('the INFO that S3 answers again', () => lines.length > 1, 5_000);
      t.match(lines[1], {
        level: 30,
        msg: /^S3 at .* answers again \(it was silent for \d+ s\); toil status goes on$/,
      });
      t.equal(lines.length, 2, 'one stall, one warning');
    },
  );
}

// The body's connection reads nothing while its reader is not reading (the stream's buffer full,
// the socket paused): that is the reader's pause, not S3's silence, and S3 sent all it had.
t.test(
  'a reader that pauses in the middle of a body S3 sent in full is not warned of as an S3 stall',
  async (t) => {
    const sent = Buffer.alloc(8 * 2 ** 20, 7);
    const { client, lines } = await watchedClientOf(t, (res) => {
      res.writeHead(200, {
        'Content-Length': String(sent.length),
        'Content-Type': 'application/octet-stream',
        ETag: '"e"',
        'x-amz-checksum-sha256': createHash('sha256').update(sent).digest('base64'),
      });
      res.end(sent);
    });
    const { GetObjectCommand } = s3Sdk();
    const out = await client.send(
      new GetObjectCommand({ Bucket: 'b--toil', Key: 'files/big', ChecksumMode: 'ENABLED' }),
    );
    // The reader takes its first chunk and then sits on the rest for three thresholds.
    const reader = (out.Body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const first = await reader.next();
    t.notOk(first.done, 'a first chunk came');
    await new Promise((r) => setTimeout(r, 3_000));
    t.same(lines, [], 'nothing said while the reader pauses');
    let received = first.value!.length;
    for (let next = await reader.next(); !next.done; next = await reader.next())
      received += next.value.length;
    t.equal(received, sent.length, 'the whole body is read once the reader goes on');
    t.same(lines, [], 'no stall, no INFO of an answer');
  },
);
