import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { LEADER_KEY } from '../../src/jobstore/lease.js';
import type { StoredObject } from '../../src/jobstore/objectStore.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import type { WorkerOptions } from '../../src/workflow/worker.js';
import { waitFor } from '../fixtures/waitFor.js';
import { holdRunOptions } from '../fixtures/servicesRun.js';
import { scratchDir } from '../fixtures/workflowCli.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

t.setTimeout(120_000);

const POLL_MS = 50;

/** A file object store that counts the reads of the lease (on S3, each is a billed GET). */
class LeaseReadCounter extends FileObjectStore {
  leaseReads = 0;
  override async get(key: string): Promise<StoredObject | undefined> {
    if (key === LEADER_KEY) this.leaseReads++;
    return super.get(key);
  }
}

/**
 * Runs the `hold` workflow (one service, a follow-on waiting for `go`) with workers given
 * `workerOptions`, and counts the lease reads while only the service polls, for 1.5 s (30 polls).
 */
async function leaseReadsWhileServicePolls(
  t: { teardown(fn: () => void): void },
  workerOptions: WorkerOptions,
): Promise<number> {
  const dir = scratchDir(t);
  const cwd = process.cwd();
  process.chdir(dir); // the workflow writes exec.log and reads `go` where it runs
  t.teardown(() => process.chdir(cwd));
  const objects = new LeaseReadCounter(join(dir, 'js'), 'file:./js');
  const store = new JobStore(objects);
  const lines = (): string[] =>
    existsSync(join(dir, 'exec.log')) ? readFileSync(join(dir, 'exec.log'), 'utf8').trim().split('\n') : [];
  const run = runWorkflow(
    holdRunOptions(store, dir, new InProcessBatchSystem(store, dir, { workerOptions }), POLL_MS),
  );
  await waitFor('the follow-on to wait', () => lines().includes('after waits'), 60_000);
  const before = objects.leaseReads;
  await new Promise((r) => setTimeout(r, 30 * POLL_MS));
  const reads = objects.leaseReads - before;
  writeFileSync(join(dir, 'go'), '');
  const result = await run;
  if (result.status !== 'succeeded') throw new Error(`the workflow ${result.status}`);
  return reads;
}

t.test(
  'a service on a worker tied to its leader (a local one, by IPC) reads no lease while it polls: it ends with its leader anyway',
  async (t) => {
    t.equal(await leaseReadsWhileServicePolls(t, { shouldCommit: () => true }), 0);
  },
);

t.test(
  'a service on a worker of its own (Mesos, Slurm) reads the lease at most once in 5 s to notice a newer leader, not on each of its polls',
  async (t) => {
    const reads = await leaseReadsWhileServicePolls(t, {});
    t.ok(reads <= 1, `${reads} lease reads in 30 polls`);
  },
);
