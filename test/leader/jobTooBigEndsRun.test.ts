import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { runWorkflow, type CleanPolicy } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A run refused for a job bigger than the largest node (JOB_TOO_BIG) or than --maxCores and its
 * kin (JOB_OVER_MAX) ends as a failed run does: --clean always and onError delete its store, and
 * the message says so; any other --clean keeps it, and the message says why the same command, or a
 * --restart with the workflow file fixed, is refused again, and the ways on. It used to keep the
 * store whatever --clean said (an aws: bucket billed on) and, for JOB_TOO_BIG, say nothing of it.
 */
const MI = 2 ** 20;

const ROWS: { clean: CleanPolicy; kept: boolean }[] = [
  { clean: 'never', kept: true },
  { clean: 'onSuccess', kept: true },
  { clean: 'always', kept: false },
  { clean: 'onError', kept: false },
];

for (const limit of ['the largest node', '--maxMemory'] as const)
  for (const { clean, kept } of ROWS)
    t.test(
      `a job over ${limit} with --clean ${clean}: the store is ${kept ? 'kept' : 'deleted'}, as the message says`,
      async (t) => {
        const dir = testDir(t, {});
        const path = join(dir, 'js');
        const store = new JobStore(new FileObjectStore(path));
        const overMachine = limit === 'the largest node';
        // root asks for 64 MiB: over a 32 MiB machine, or over --maxMemory 32 MiB.
        const done = runWorkflow({
          store,
          workflowFile: repoPath('test/fixtures/workflowOneFails.ts'),
          args: ['0'],
          restart: false,
          clean,
          retryCount: 0,
          defaults: { cores: 1, memory: 64 * MI, disk: MI, preemptable: false },
          ...(overMachine ? {} : { jobLimits: { maxMemory: 32 * MI } }),
          batchSystem: new InProcessBatchSystem(
            store,
            dir,
            overMachine ? { max: { cores: 4, memory: 32 * MI, disk: 2 ** 30, preemptable: false } } : {},
          ),
          clock: new ManualClock(),
          log: silentLogger(),
          workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
          workDir: dir,
        });
        const refusal = overMachine
          ? "job 'root' asks for 64.0 MiB memory, more than the largest node allows (4 cores, 32.0 MiB memory, 1.0 GiB disk on in_process)"
          : "job 'root' asks for 64.0 MiB memory, more than --maxMemory allows (32.0 MiB); raise --maxMemory, or lower the job's requirement (--defaultMemory if it declares none)";
        const fate = kept
          ? overMachine
            ? `; the job store ${store.locator} is kept: use --restart to resume the workflow where the job fits (a larger machine or node type), since the jobs still to run keep the requirements they were stored with, which a changed workflow file does not change; or remove the job store with 'toil clean ${store.locator}' to start the workflow from scratch`
            : `; the job store ${store.locator} is kept: use --restart to resume the workflow (with --maxMemory raised), or remove the job store with 'toil clean ${store.locator}' to start the workflow from scratch`
          : `; the job store ${store.locator} was deleted (--clean ${clean})`;
        await t.rejects(done, {
          code: overMachine ? 'JOB_TOO_BIG' : 'JOB_OVER_MAX',
          message: refusal + fate,
        });
        t.equal(
          existsSync(path),
          kept,
          kept ? 'the store is there for a resume' : 'nothing of the store is left',
        );
      },
    );

t.test(
  'a job over the largest node by a requirement it does not declare: the kept store is resumed with that default lowered, and so it is',
  async (t) => {
    const dir = testDir(t, {});
    const path = join(dir, 'js');
    const run = (restart: boolean, cores: number) => {
      const store = new JobStore(new FileObjectStore(path));
      return {
        store,
        done: runWorkflow({
          store,
          workflowFile: repoPath('test/fixtures/workflowDeclaresNothing.ts'),
          args: [],
          restart,
          clean: 'onSuccess',
          retryCount: 0,
          defaults: { cores, memory: 64 * MI, disk: MI, preemptable: false },
          batchSystem: new InProcessBatchSystem(store, dir, {
            max: { cores: 4, memory: 128 * MI, disk: 2 ** 30, preemptable: false },
          }),
          clock: new ManualClock(),
          log: silentLogger(),
          workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
          workDir: dir,
        }),
      };
    };
    const first = run(false, 8);
    await t.rejects(first.done, {
      code: 'JOB_TOO_BIG',
      message: `job 'plain' asks for 8 cores, more than the largest node allows (4 cores, 128.0 MiB memory, 1.0 GiB disk on in_process); the job store ${first.store.locator} is kept: use --restart to resume the workflow with --defaultCores lowered (the job declares no such requirement, so that default sets it), or where the job fits (a larger machine or node type), since the jobs still to run keep the requirements they were stored with, which a changed workflow file does not change; or remove the job store with 'toil clean ${first.store.locator}' to start the workflow from scratch`,
    });
    const again = await run(true, 2).done;
    t.match(again, { status: 'succeeded' }, 'the --restart with --defaultCores lowered runs the job');
  },
);
