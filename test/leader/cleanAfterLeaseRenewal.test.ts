import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { openJobStore } from '../../src/main/jobStores.js';
import { forward, startLocalProxy } from '../fixtures/localProxy.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { startS3rver } from '../fixtures/s3rver.js';
import { setProcessEnv } from '../fixtures/processEnv.js';
import { testDir } from '../fixtures/testDir.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

/**
 * `--clean` deleted the job store while the leader's lease renewal could still be on its way: the
 * renewal timer ran until the run ended, after the deletion, and retiring the lease did not wait
 * for the renewal already sent. s3rver, as some S3-compatible servers, ignores If-Match, so a
 * renewal landing after the deletion of `leader.json` writes it back, the bucket's deletion fails
 * ("bucket not empty") and the bucket stays, billed on. A relay in front of s3rver holds the
 * renewal sent during finish() until the deletion asks for the bucket to go (or 2 s have passed),
 * so without the wait the renewal certainly lands inside the deletion.
 */
const TTL_MS = 9_000; // a renewal every 3 s; one held 2 s stays well inside the term
const HOLD_MS = 2_000;

t.setTimeout(120_000);

t.test(
  '--clean always waits for the lease renewal in flight before deleting an S3 store, and leaves no bucket',
  async (t) => {
    const s3rver = await startS3rver();
    t.teardown(() => s3rver.stop());
    const dir = testDir(t);
    const upstream = new URL(s3rver.endpoint);
    const bucket = 'clean-after-renewal--toil';
    /** What reached s3rver, in order: the held renewal's answer, and the deletion's requests. */
    const events: string[] = [];
    let armed = false;
    let held: { release: () => void; answered: Promise<void> } | undefined;
    let onHeld: () => void = () => {};
    const renewalHeld = new Promise<void>((r) => (onHeld = r));
    const relay = await startLocalProxy(t, (req, res) => {
      const url = new URL(req.url ?? '/', 'http://relay');
      const path = url.pathname.split('/').filter(Boolean);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const send = (): Promise<void> =>
          new Promise((resolve) => {
            forward(upstream, req, (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
              answer.on('end', () => resolve());
            }).end(Buffer.concat(chunks));
          });
        const bucketLevel = path[0] === bucket && path.length === 1;
        if (bucketLevel && req.method === 'POST' && url.searchParams.has('delete'))
          events.push('DeleteObjects');
        if (armed && !held && req.method === 'PUT' && path[0] === bucket && path[1] === 'leader.json') {
          let release: () => void = () => {};
          const go = new Promise<void>((r) => (release = r));
          const answered = go.then(send).then(() => void events.push('renewal answered'));
          held = { release, answered };
          onHeld();
          return;
        }
        if (bucketLevel && req.method === 'DELETE' && held) {
          events.push('DeleteBucket');
          held.release();
          void held.answered.then(send);
          return;
        }
        void send();
      });
    });
    // The workflow's start() and its jobs open the store by its locator, from this process's
    // environment: through the relay too.
    setProcessEnv(t, { ...s3rver.env, AWS_ENDPOINT_URL_S3: relay });
    const clock = new RealClock();
    const store = openJobStore('aws:us-west-2:clean-after-renewal', { clock });
    const run = runWorkflow({
      store,
      workflowFile: repoPath('test/fixtures/workflowFinishWaits.ts'),
      args: [dir],
      restart: false,
      clean: 'always',
      retryCount: 0,
      defaults: { cores: 1, memory: 2 ** 26, disk: 2 ** 20, preemptable: false },
      batchSystem: new InProcessBatchSystem(store, dir),
      clock,
      log: silentLogger(),
      workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
      workDir: dir,
      lease: { ttlMs: TTL_MS },
      // The lease is confirmed by now: the next write of leader.json is the timer's renewal.
      onFinishing: () => void (armed = true),
    });
    const outcome = run.then(
      (r) => r.status,
      (e: unknown) => e,
    );
    await renewalHeld;
    // finish() returns with the renewal still on its way; the clean comes next.
    writeFileSync(join(dir, 'go'), '');
    setTimeout(() => held?.release(), HOLD_MS).unref();
    t.equal(await outcome, 'succeeded', 'the run succeeds, its store deleted');
    await held?.answered;
    t.ok(
      events.indexOf('renewal answered') >= 0 &&
        events.indexOf('renewal answered') < events.indexOf('DeleteObjects'),
      `the renewal was answered before the deletion began (${events.join(', ')})`,
    );
    const direct = openJobStore('aws:us-west-2:clean-after-renewal', { env: s3rver.env });
    t.equal(await direct.exists(), false, 'nothing of the store is left: no leader.json, no bucket');
  },
);
