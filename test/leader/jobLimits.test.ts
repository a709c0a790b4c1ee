import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { JobOverMaxError, checkJobLimits } from '../../src/leader/jobLimits.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * Toil's --maxCores, --maxMemory and --maxDisk (AbstractBatchSystem.check_resource_request): a job
 * asking for more than a cap is refused naming the job, the resource, what it asked for, the cap
 * and the flag; one at the cap runs. The runner checks every job, whatever the batch system.
 */
const GI = 2 ** 30;
const job = { name: 'align', cores: 2, memoryBytes: 3e9, diskBytes: 10 * GI };

t.test('a job at each cap passes; none set: nothing is checked', async (t) => {
  t.doesNotThrow(() => checkJobLimits(job, { maxCores: 2, maxMemory: 3e9, maxDisk: 10 * GI }));
  t.doesNotThrow(() => checkJobLimits({ ...job, cores: 1e6, memoryBytes: 2 ** 60 }, {}));
  // Cores in tenths add up with float error: 0.1 + 0.2 at a cap of 0.3 is at the cap.
  t.doesNotThrow(() => checkJobLimits({ ...job, cores: 0.1 + 0.2 }, { maxCores: 0.3 }));
});

t.test(
  'each resource over its cap is refused naming the job, what it asked, the cap and the flag',
  async (t) => {
    const cases = [
      [
        { maxCores: 1.5 },
        "job 'align' asks for 2 cores, more than --maxCores allows (1.5); raise --maxCores, or lower the job's requirement (--defaultCores if it declares none)",
      ],
      [
        { maxMemory: 1e9 },
        "job 'align' asks for 3.0 GB memory, more than --maxMemory allows (1.0 GB); raise --maxMemory, or lower the job's requirement (--defaultMemory if it declares none)",
      ],
      [
        { maxDisk: 10 * GI - 1 },
        "job 'align' asks for 10737418240 bytes of disk, more than --maxDisk allows (10737418239 bytes); raise --maxDisk, or lower the job's requirement (--defaultDisk if it declares none)",
      ],
      [
        // Toil's human2bytes reads 1K as 1000 bytes: said in KB, the job's disk too.
        { maxDisk: 1000 },
        "job 'align' asks for 10737418.2 KB disk, more than --maxDisk allows (1.0 KB); raise --maxDisk, or lower the job's requirement (--defaultDisk if it declares none)",
      ],
      [
        { maxMemory: 2.5e9 },
        "job 'align' asks for 3.0 GB memory, more than --maxMemory allows (2.5 GB); raise --maxMemory, or lower the job's requirement (--defaultMemory if it declares none)",
      ],
      [
        { maxDisk: 2 ** 20 },
        "job 'align' asks for 10240.0 MiB disk, more than --maxDisk allows (1.0 MiB); raise --maxDisk, or lower the job's requirement (--defaultDisk if it declares none)",
      ],
    ] as const;
    for (const [limits, message] of cases) {
      const flag = Object.keys(limits)[0]!;
      t.throws(
        () => checkJobLimits(job, limits),
        { code: 'JOB_OVER_MAX', disposition: 'user', message },
        flag,
      );
      t.throws(() => checkJobLimits(job, limits), JobOverMaxError, `${flag}: a JobOverMaxError`);
    }
  },
);

t.test('every resource over its cap is named in one message, in the order cores, memory, disk', async (t) => {
  t.throws(() => checkJobLimits(job, { maxCores: 1, maxMemory: 3e9, maxDisk: GI }), {
    message:
      "job 'align' asks for 2 cores, more than --maxCores allows (1), and 10.0 GiB disk, more than --maxDisk allows (1.0 GiB); raise --maxCores and --maxDisk, or lower the job's requirements (--defaultCores and --defaultDisk if it declares none)",
    details: { jobName: 'align', flags: ['--maxCores', '--maxDisk'] },
  });
});

t.test("single_machine's --scale: a job's cores count scaled against --maxCores, as in Toil", async (t) => {
  const eight = { ...job, cores: 8 };
  t.doesNotThrow(() => checkJobLimits(eight, { maxCores: 2, coreScale: 0.25 }), '8 cores at 0.25 count as 2');
  t.throws(() => checkJobLimits(eight, { maxCores: 1, coreScale: 0.25 }), {
    message: /^job 'align' asks for 8 cores \(2 at --scale 0\.25\), more than --maxCores allows \(1\);/,
  });
});

t.test(
  'the runner refuses a job over a cap as it is added, though the batch system has room: the root at start, a child when its parent commits',
  async (t) => {
    const dir = testDir(t, {});
    const run = (jobLimits: { maxCores?: number; maxMemory?: number }) => {
      const store = new JobStore(new FileObjectStore(join(dir, `js-${Object.keys(jobLimits).join('-')}`)));
      // No largest job: only the caps can refuse one.
      const bs = new InProcessBatchSystem(store, dir);
      const done = runWorkflow({
        store,
        // small (1 core, 256 MiB) adds wide (4 cores, 10 GiB) as its child.
        workflowFile: repoPath('test/fixtures/workflowChildFitsNoType.ts'),
        args: [],
        restart: false,
        clean: 'never',
        retryCount: 1,
        defaults: { cores: 1, memory: 2 * GI, disk: 2 * GI, preemptable: false },
        batchSystem: bs,
        clock: new ManualClock(),
        log: silentLogger(),
        workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
        workDir: dir,
        jobLimits,
      });
      return { done, bs };
    };

    const child = run({ maxCores: 2 });
    await t.rejects(child.done, {
      code: 'JOB_OVER_MAX',
      message: /^job 'wide' asks for 4 cores, more than --maxCores allows \(2\);/,
    });
    t.same(
      child.bs.issuedLog.map((j) => j.name),
      ['small'],
      'the parent ran; the child over --maxCores was never issued',
    );

    const root = run({ maxMemory: 128 * 2 ** 20 });
    await t.rejects(root.done, {
      code: 'JOB_OVER_MAX',
      message: /^job 'small' asks for 256\.0 MiB memory, more than --maxMemory allows \(128\.0 MiB\);/,
    });
    t.same(root.bs.issuedLog, [], 'nothing was issued');
  },
);
