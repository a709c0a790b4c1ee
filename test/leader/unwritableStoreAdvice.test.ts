import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { JobStoreUnwritableError } from '../../src/jobstore/errors.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore, OUTCOME_KEY } from '../../src/jobstore/jobStore.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * What a run advises when the job store's disk refuses a write depends on whether the store
 * outlived the run: one removed (its workflow never started) is run anew with the same command,
 * one kept is resumed with --restart. The refusal is the one FileObjectStore raises for a full
 * disk, raised here for one chosen key (test/e2e/runJobStoreDiskFull.test.ts fills a real tmpfs).
 */
const MI = 2 ** 20;

function runRefusing(t: Test, refusedKey: string) {
  const dir = testDir(t, {});
  const objects = new FileObjectStore(join(dir, 'js'));
  const put = objects.put.bind(objects);
  objects.put = async (key, body, conditions) => {
    if (key === refusedKey)
      throw new JobStoreUnwritableError(
        objects.locator,
        `writing ${key}`,
        'its file system is full',
        'ENOSPC',
      );
    return put(key, body, conditions);
  };
  const store = new JobStore(objects);
  const done = runWorkflow({
    store,
    workflowFile: repoPath('test/fixtures/workflowOneFails.ts'),
    args: ['0'],
    restart: false,
    clean: 'never',
    retryCount: 0,
    defaults: { cores: 1, memory: 64 * MI, disk: MI, preemptable: false },
    batchSystem: new InProcessBatchSystem(store, dir, {}),
    clock: new ManualClock(),
    log: silentLogger(),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
  });
  return { done, dir };
}

t.test(
  'refused while start() runs: the store is removed, so the advice is the same command again',
  async (t) => {
    const { done, dir } = runRefusing(t, 'workflow.json');
    await t.rejects(done, {
      code: 'JOBSTORE_UNWRITABLE',
      message:
        /\(ENOSPC\) writing workflow\.json \(expected room to write: free space there, then run the same command again \(without --restart\): the job store was removed, so the workflow starts anew\)$/,
    });
    t.notOk(existsSync(join(dir, 'js')), 'the store is gone');
  },
);

t.test('refused once jobs ran: the store is kept, so the advice is --restart', async (t) => {
  const { done, dir } = runRefusing(t, OUTCOME_KEY);
  await t.rejects(done, {
    code: 'JOBSTORE_UNWRITABLE',
    message:
      /\(ENOSPC\) writing outcome\.json \(expected room to write: free space there, then resume it with 'toil run WORKFLOW JOBSTORE --restart': its job store is kept with what the workflow committed\)$/,
  });
  t.ok(existsSync(join(dir, 'js', '.toil-jobstore')), 'the store is kept');
});
