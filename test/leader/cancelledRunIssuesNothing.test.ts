import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import type { ObjectInfo, PutConditions } from '../../src/jobstore/objectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { IssuedJob } from '../../src/ports/batchSystem.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A job is handed to the batch system once its ticket is written. A run cancelled (Ctrl-C, toil
 * kill) while tickets were being written handed those jobs over anyway, after it had killed what
 * it had issued: one then started as soon as a killed job's cores freed, after the user asked the
 * run to stop (seen as a third job starting under --maxCores 2 on a loaded machine).
 */
const TREE = repoPath('test/fixtures/workflowTree.ts');

/** Holds every ticket write after the root's until `open()`, as a slow store does under load. */
class SlowTickets extends FileObjectStore {
  held = 0;
  writtenAfterGate = 0;
  private written = 0;
  private gate!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.gate = resolve));
  open(): void {
    this.gate();
  }
  override async put(
    key: string,
    body: Uint8Array | string,
    conditions: PutConditions = {},
  ): Promise<ObjectInfo> {
    if (!key.startsWith('jobs/') || this.written++ === 0) return super.put(key, body, conditions);
    this.held++;
    await this.opened;
    const info = await super.put(key, body, conditions);
    this.writtenAfterGate++;
    return info;
  }
}

class CountingBatchSystem extends InProcessBatchSystem {
  readonly handedOver: string[] = [];
  override async issue(job: IssuedJob): Promise<void> {
    this.handedOver.push(job.name);
    return super.issue(job);
  }
}

t.test(
  "a run cancelled while its next jobs' tickets are being written hands none of them to the batch system",
  async (t) => {
    const dir = testDir(t);
    const objects = new SlowTickets(join(dir, 'js'));
    const store = new JobStore(objects);
    const bs = new CountingBatchSystem(store, dir);
    const cancel = new AbortController();
    const run = runWorkflow({
      store,
      workflowFile: TREE,
      args: ['--n', '4', '--out', join(dir, 'out'), '--log', join(dir, 'log')],
      restart: false,
      clean: 'never',
      retryCount: 0,
      defaults: { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: false },
      batchSystem: bs,
      clock: new ManualClock(),
      log: silentLogger(),
      workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
      workDir: dir,
      signal: cancel.signal,
    });
    // The root ran and its children's tickets are being written.
    await waitFor("the root's children to be issued", () => objects.held >= 2, 30_000);
    t.same(bs.handedOver, ['tree'], 'only the root was handed over so far');
    cancel.abort(new Error('stopped by the test'));
    // The writes the cancel found in flight finish after it.
    objects.open();
    const outcome = await run.then(
      () => 'resolved',
      (e: unknown) => (e as Error).message,
    );
    await waitFor('the held tickets to be written', () => objects.writtenAfterGate >= 2, 30_000);
    await new Promise((r) => setTimeout(r, 200));
    t.equal(outcome, 'stopped by the test', 'the run ends with the cancel');
    t.same(bs.handedOver, ['tree'], 'no job whose ticket was in flight was handed over after the cancel');
  },
);
