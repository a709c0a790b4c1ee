import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { endedWithin } from '../fixtures/silentEndpoint.js';
import { waitFor } from '../fixtures/waitFor.js';
import { REPO_ROOT, runToil, startToil } from '../fixtures/workflowCli.js';

t.setTimeout(120_000);

// S3 that sends a response's headers and then stops in the middle of its body (a proxy or a
// server hung mid-transfer): the call's own watch ended with the headers, and toil status, which
// reads every record's body, sat with nothing on the screen until Ctrl-C.
t.test(
  'toil status on an S3 endpoint that stops in the middle of a record it sends names the object it waits for, and Ctrl-C ends it',
  async (t) => {
    const { server: s3, dir } = await s3rverAndScratchDir(t);
    const locator = 'aws:us-west-2:stalled-body';
    const ran = await runToil(
      [
        'run',
        join(REPO_ROOT, 'test/fixtures/workflowTree.ts'),
        locator,
        '--out',
        'out.txt',
        '--log',
        'exec.log',
        '--clean',
        'never',
        '--disableProgress',
      ],
      { cwd: dir, env: s3.env },
    );
    t.equal(ran.code, 0, ran.stderr);

    // Every request goes through to s3rver, but a GET of workflow.json sends its headers and the
    // first bytes of its body, then nothing more.
    const upstream = new URL(s3.env.AWS_ENDPOINT_URL_S3!);
    const proxy = createServer((req, res) => {
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (req.method === 'GET' && /\/workflow\.json(\?|$)/.test(req.url ?? '')) {
            answer.once('data', (chunk: Buffer) => res.write(chunk.subarray(0, 8)));
            return;
          }
          answer.pipe(res);
        },
      );
      req.pipe(forwarded);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      proxy.closeAllConnections();
      proxy.close();
    });
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    const running = startToil(['status', locator], {
      cwd: dir,
      env: { ...s3.env, AWS_ENDPOINT_URL_S3: endpoint },
    });
    t.teardown(() => running.child.kill('SIGKILL'));
    let stderr = '';
    running.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      'the warning that S3 stopped in the middle of a body',
      () => /has not answered/.test(stderr),
      30_000,
    );
    t.match(
      stderr,
      new RegExp(
        `WARNING jobstore\\.s3: S3 at ${endpoint.replace(/\./g, '\\.')} has not answered GetObject of workflow\\.json \\(the rest of its body\\) on bucket stalled-body--toil for \\d+ s: toil status waits for it \\(Ctrl-C stops the wait\\); check that the endpoint is up and reachable$`,
        'm',
      ),
      'names the endpoint, the object, the bucket and who waits',
    );
    running.child.kill('SIGINT');
    const ended = await endedWithin(running.done, 10_000);
    if (ended === 'still running') {
      t.fail('toil status still running 10 s after Ctrl-C');
      return;
    }
    t.same(
      { code: ended.code, signal: ended.signal },
      { code: null, signal: 'SIGINT' },
      'ended by the SIGINT',
    );
    t.notMatch(ended.stderr, /internal error|\n\s+at /, 'no stack trace');
  },
);
