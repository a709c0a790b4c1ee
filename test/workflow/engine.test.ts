import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { runWorkflow, type RunWorkflowOptions } from '../../src/leader/runWorkflow.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { repoPath } from '../fixtures/repoRoot.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const FILES = repoPath('test/fixtures/workflowFiles.ts');
const TREE = repoPath('test/fixtures/workflowTree.ts');
const DEFAULTS = { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: false };

function setup(t: Test): { dir: string; store: JobStore } {
  const dir = mkdtempSync(join(tmpdir(), 'toil-engine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, store: new JobStore(new FileObjectStore(join(dir, 'js'))) };
}

function options(
  store: JobStore,
  dir: string,
  batchSystem: InProcessBatchSystem,
  o: Partial<RunWorkflowOptions>,
): RunWorkflowOptions {
  return {
    store,
    workflowFile: FILES,
    args: [],
    restart: false,
    clean: 'never',
    retryCount: 1,
    defaults: DEFAULTS,
    batchSystem,
    clock: new ManualClock(),
    log: silentLogger(),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
    ...o,
  };
}

t.test(
  'files written, streamed, read and deleted; log lines, requirements and promises reach where they should',
  async (t) => {
    const { dir, store } = setup(t);
    const bs = new InProcessBatchSystem(store, dir);
    const progress: number[] = [];
    const out = await runWorkflow({
      ...options(store, dir, bs, { args: ['hello'] }),
      onProgress: (p) => progress.push(p.completed),
    });
    t.equal(out.status, 'succeeded', JSON.stringify(out));
    if (out.status !== 'succeeded') return;
    t.equal(
      out.returnValue,
      'final:hello|stream|local',
      'the root returned its follow-on, which got the child rv("summary")',
    );
    t.equal(out.jobsRun, 3);
    t.equal(Math.max(...progress), 3, 'progress reported every completed job');
    const commits = await store.readAllCommits();
    const produce = [...commits.values()].find((c) => c.newJobs.some((j) => j.name === 'consume'))!;
    t.equal(produce.deletedFiles.length, 1, 'the deletion is part of the commit');
    t.notOk(await store.fileExists(produce.deletedFiles[0]!), 'and the leader applied it');
    const consume = [...commits.values()].find((c) => c.logs.some((l) => l.message.startsWith('consumed')))!;
    t.same(
      consume.logs.map((l) => [l.level, l.message]),
      [['warn', 'consumed hello|stream|local|local']],
    );
    const consumeSpec = produce.newJobs.find((j) => j.name === 'consume')!;
    t.same(consumeSpec.requirements, {
      cores: 0.5,
      memory: 16 * 2 ** 20,
      disk: 2 ** 20,
      preemptable: true,
      walltimeMs: 5000,
    });
    const issuedConsume = bs.issuedLog.find((j) => j.name === 'consume')!;
    t.same(issuedConsume.requirements, {
      cores: 0.5,
      memory: 16 * 2 ** 20,
      disk: 2 ** 20,
      preemptable: true,
      walltimeMs: 5000,
    });
    const issuedReport = bs.issuedLog.find((j) => j.name === 'report')!;
    t.same(issuedReport.requirements, { ...DEFAULTS }, 'undeclared requirements take the defaults');
    t.same(issuedReport.command, ['toil', 'worker', store.locator, issuedReport.jobId, '--attempt', '1']);
  },
);

t.test('a lost attempt is re-run without spending a retry; attempts keep unique numbers', async (t) => {
  const { dir, store } = setup(t);
  let lost = 0;
  const bs = new InProcessBatchSystem(store, dir, {
    interfere: (job) =>
      job.name === 'consume' && lost++ < 2
        ? { jobId: job.jobId, attempt: job.attempt, outcome: 'lost' }
        : undefined,
  });
  const out = await runWorkflow(options(store, dir, bs, { retryCount: 0 }));
  t.equal(out.status, 'succeeded', 'two losses with --retryCount 0 still succeed');
  const consumeAttempts = bs.issuedLog.filter((j) => j.name === 'consume').map((j) => j.attempt);
  t.same(consumeAttempts, [1, 2, 3]);
});

t.test(
  'a job that fails every attempt fails the workflow after 1 + retryCount attempts, with its error',
  async (t) => {
    const { dir, store } = setup(t);
    const bs = new InProcessBatchSystem(store, dir, {
      interfere: (job) =>
        job.name === 'consume'
          ? {
              jobId: job.jobId,
              attempt: job.attempt,
              outcome: 'failed',
              exitCode: 1,
              message: 'node on fire',
            }
          : undefined,
    });
    const out = await runWorkflow(options(store, dir, bs, { retryCount: 2 }));
    t.equal(out.status, 'failed');
    if (out.status !== 'failed') return;
    t.equal(out.failures.length, 1);
    t.match(out.failures[0], { name: 'consume', attempts: 3, reason: /node on fire/ });
    t.equal(bs.issuedLog.filter((j) => j.name === 'report').length, 0, 'the follow-on never ran');
  },
);

t.test('a job asking for more than the batch system allows fails the run at once, naming it', async (t) => {
  const { dir, store } = setup(t);
  const bs = new InProcessBatchSystem(store, dir, {
    max: { cores: 0.25, memory: 2 ** 40, disk: 2 ** 40, preemptable: true },
  });
  await t.rejects(runWorkflow(options(store, dir, bs, {})), {
    code: 'JOB_TOO_BIG',
    message: /job 'produce' asks for 0.5 cores/,
  });
  t.equal(bs.issuedLog.length, 0, 'nothing was issued');
});

t.test(
  'a job failing in the worker writes its failure log; the leader shows it; --restart then resumes',
  async (t) => {
    const { dir, store } = setup(t);
    const log = join(dir, 'exec.log');
    const args = ['--n', '2', '--out', join(dir, 'out'), '--log', log, '--fail', 'add', '--failTimes', '1'];
    const first = await runWorkflow(
      options(store, dir, new InProcessBatchSystem(store, dir), { workflowFile: TREE, args, retryCount: 0 }),
    );
    t.equal(first.status, 'failed');
    if (first.status === 'failed') t.match(first.failures[0]?.reason, /add was told to fail/);
    const bs = new InProcessBatchSystem(store, dir);
    const again = await runWorkflow(
      options(store, dir, bs, { workflowFile: TREE, args, restart: true, retryCount: 0 }),
    );
    t.equal(again.status, 'succeeded');
    t.equal(again.replayed, 3, 'the three jobs that had run were replayed, not re-run');
    t.same(
      bs.issuedLog.map((j) => [j.name, j.attempt]),
      [['add', 1001]],
      'only the failed job ran again, as generation 1',
    );
  },
);

t.test('restart and new-run input errors are user errors', async (t) => {
  const { dir, store } = setup(t);
  const bs = new InProcessBatchSystem(store, dir);
  await t.rejects(runWorkflow(options(store, dir, bs, { restart: true })), { code: 'JOBSTORE_NOT_FOUND' });
  await t.rejects(runWorkflow(options(store, dir, bs, { workflowFile: join(dir, 'missing.ts') })), {
    code: 'WORKFLOW_FILE_MISSING',
  });
  await t.rejects(
    runWorkflow(options(store, dir, bs, { workflowFile: repoPath('test/fixtures/waitFor.ts') })),
    {
      code: 'WORKFLOW_NO_DEFAULT',
    },
  );
});
