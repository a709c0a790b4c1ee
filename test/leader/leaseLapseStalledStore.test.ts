import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { openJobStore } from '../../src/main/jobStores.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Env, startMoto } from '../fixtures/motoServer.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { setProcessEnv } from '../fixtures/processEnv.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

/**
 * An S3 endpoint that takes connections and never answers (a stalled server, a hung proxy) left
 * the leader's lease renewal unanswered, and a leader only saw its lease lapse once a renewal
 * came back: the run went on waiting, warning every 15 s that a leader whose store stays silent
 * for 60 s stops, for as long as the stall lasted (for ever, if the store never answers). The
 * lease's term is 3 s here; the run must end with the lease lost while moto is still stopped.
 */
const TTL_MS = 3_000;

t.setTimeout(120_000);

t.test(
  'a run whose S3 job store stops answering ends once its lease lapses, while the store is still silent',
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const dir = testDir(t);
    // The workflow's start() opens the store by its locator, from this process's environment.
    setProcessEnv(t, motoS3Env(moto));
    const clock = new RealClock();
    const store = openJobStore('aws:us-west-2:lease-lapse-stalled', { clock });
    const log = join(dir, 'exec.log');
    const run = runWorkflow({
      store,
      workflowFile: repoPath('test/fixtures/workflowTree.ts'),
      args: ['--n', '8', '--out', join(dir, 'out'), '--log', log, '--sleepMs', '15000'],
      restart: false,
      clean: 'never',
      retryCount: 0,
      defaults: { cores: 1, memory: 2 ** 26, disk: 2 ** 20, preemptable: false },
      batchSystem: new InProcessBatchSystem(store, dir),
      clock,
      log: silentLogger(),
      workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
      workDir: dir,
      lease: { ttlMs: TTL_MS },
    });
    const ended = run.then(
      () => 'resolved' as const,
      (e: unknown) => e,
    );
    await waitFor(
      'the first job to start',
      () => existsSync(log) && /^start /m.test(readFileSync(log, 'utf8')),
      60_000,
    );
    moto.signal('SIGSTOP');
    const stalledAt = Date.now();
    t.teardown(() => moto.signal('SIGCONT'));
    const outcome = await Promise.race([
      ended,
      new Promise((resolve) => setTimeout(() => resolve('still running'), TTL_MS + 12_000)),
    ]);
    const after = Date.now() - stalledAt;
    t.match(
      outcome,
      {
        code: 'JOBSTORE_LEASE_LOST',
        disposition: 'retry',
        message:
          /the job store did not answer the renewal sent at .*; it stops without writing more; what it committed is kept: run again with --restart once the store answers$/,
      },
      `the run ended with its lease lost ${after} ms into the stall, the store still silent`,
    );
    t.ok(
      after <= TTL_MS + 12_000,
      'within the lease term (and the 10 s it gives a kill), not once S3 answers',
    );
  },
);
