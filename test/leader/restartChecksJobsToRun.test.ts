import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { JobRequirements } from '../../src/ports/batchSystem.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A job bigger than the batch system's largest node (JOB_TOO_BIG) is judged as Toil judges it, when
 * it is issued: a --restart on a batch system with smaller nodes refuses a job still to run, never
 * one that ran before and whose commit is kept. The restart used to check every job again.
 */
const MI = 2 ** 20;

t.test('--restart on smaller nodes refuses the job still to run, not the one that ran', async (t) => {
  const dir = testDir(t, {});
  const store = new JobStore(new FileObjectStore(join(dir, 'js')));
  const run = (restart: boolean, max?: JobRequirements) => {
    const bs = new InProcessBatchSystem(store, dir, max ? { max } : {});
    const done = runWorkflow({
      store,
      // root (64 MiB) adds 'fails', which always throws, and 'slow', which sleeps args[0] seconds.
      workflowFile: repoPath('test/fixtures/workflowOneFails.ts'),
      args: ['0'],
      restart,
      clean: 'never',
      retryCount: 0,
      defaults: { cores: 1, memory: 64 * MI, disk: MI, preemptable: false },
      batchSystem: bs,
      clock: new ManualClock(),
      log: silentLogger(),
      workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
      workDir: dir,
    });
    return { done, bs };
  };

  const first = run(false);
  const outcome = await first.done;
  t.equal(outcome.status, 'failed', "the first run fails at 'fails'");
  t.same(first.bs.issuedLog.map((j) => j.name).sort(), ['fails', 'root', 'slow'], 'every job was issued');

  const smaller = run(true, { cores: 4, memory: 32 * MI, disk: 2 ** 30, preemptable: false });
  await t.rejects(smaller.done, {
    code: 'JOB_TOO_BIG',
    message:
      /^job 'fails' asks for 64\.0 MiB memory, more than the largest node allows \(4 cores, 32\.0 MiB memory/,
  });
  t.same(smaller.bs.issuedLog, [], 'refused before anything was issued');
});
