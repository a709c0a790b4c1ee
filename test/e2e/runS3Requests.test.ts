import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { startS3rver } from '../fixtures/s3rver.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/**
 * A loopback HTTP relay in front of the S3 server that counts what passes through it by
 * "METHOD first-key-segment" (`PUT jobs`, `GET commits`): what every process of a run sends,
 * leader and workers alike.
 */
async function countingRelay(targetPort: number): Promise<{
  readonly endpoint: string;
  readonly counts: Map<string, number>;
  stop(): Promise<void>;
}> {
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://relay').pathname.split('/').filter(Boolean);
    const kind = `${req.method} ${path[1] ?? '(bucket)'}`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const upstream = request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

t.test(
  'an aws: run with warm workers costs two S3 requests per job: the ticket PUT and the commit PUT',
  async (t) => {
    const s3rver = await startS3rver();
    t.teardown(() => s3rver.stop());
    const relay = await countingRelay(s3rver.port);
    t.teardown(() => relay.stop());
    const dir = scratchDir(t, 'toil-s3-requests-');
    // n = 8: 15 `tree` jobs and 7 `add` follow-ons.
    const jobs = 22;
    const r = await runToil(
      [
        'run',
        TREE,
        'aws:us-west-2:request-count',
        '--n',
        '8',
        '--log',
        join(dir, 'log'),
        '--out',
        join(dir, 'out'),
        '--clean',
        'never',
      ],
      { cwd: dir, env: { ...s3rver.env, AWS_ENDPOINT_URL_S3: relay.endpoint } },
    );
    t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr);
    t.match(`${r.stdout}${r.stderr}`, new RegExp(`${jobs} jobs run`), 'every job of the tree ran');
    const count = (kind: string): number => relay.counts.get(kind) ?? 0;
    t.equal(count('PUT jobs'), jobs, 'the leader writes each ticket once, before the job runs');
    t.equal(count('PUT commits'), jobs, 'each job commits once');
    t.equal(count('GET jobs'), 0, 'a warm worker gets the ticket from the leader, not from the bucket');
    t.equal(count('GET commits'), 0, 'the leader applies the commit its worker sent back once stored');
  },
);
