import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * A first run of workflowTree over `n` numbers whose `add` fails its first `failTimes` tries, and
 * what runs its --restart (with the same `retryCount`): the restart's outcome and what it issued.
 */
async function treeFailingAdd(
  t: Test,
  { n, failTimes, retryCount }: { n: number; failTimes: number; retryCount: number },
) {
  const { dir, store } = setup(t);
  const log = join(dir, 'exec.log');
  const args = ['--n', String(n), '--out', join(dir, 'out'), '--log', log, '--fail', 'add'];
  args.push('--failTimes', String(failTimes));
  const first = await runWorkflow(
    options(store, dir, new InProcessBatchSystem(store, dir), { workflowFile: TREE, args, retryCount }),
  );
  const restart = async () => {
    const bs = new InProcessBatchSystem(store, dir);
    const again = await runWorkflow(
      options(store, dir, bs, { workflowFile: TREE, args, restart: true, retryCount }),
    );
    return { again, issued: bs.issuedLog.map((j) => [j.name, j.attempt]) };
  };
  return { store, log, first, restart };
}

t.test(
  'a job failing in the worker writes its failure log; the leader shows it; --restart then resumes',
  async (t) => {
    const { first, restart } = await treeFailingAdd(t, { n: 2, failTimes: 1, retryCount: 0 });
    t.equal(first.status, 'failed');
    if (first.status === 'failed') t.match(first.failures[0]?.reason, /add was told to fail/);
    const { again, issued } = await restart();
    t.equal(again.status, 'succeeded');
    t.equal(again.replayed, 3, 'the three jobs that had run were replayed, not re-run');
    t.same(issued, [['add', 2]], 'only the failed job ran again, as its second try');
  },
);

/** The attempts of `name` the exec log of workflowTree says ran, as their jobs saw them. */
function attemptsRun(log: string, name: string): number[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`start ${name} `))
    .map((l) => Number(l.split(' ')[3]));
}

// A resumed job's attempt was `generation * 1000 + 1` (1001 after one --restart), which the log
// lines, --writeLogs files and the job itself showed as if it were its try count.
t.test(
  "after --restart a job's attempt is its real try count: n + 1 after n tries, 1 if it never ran",
  async (t) => {
    // `add` fails its first 3 tries: the first run's 2 (retryCount 1), then the restart's first.
    const twice = await treeFailingAdd(t, { n: 2, failTimes: 3, retryCount: 1 });
    t.equal(twice.first.status, 'failed');
    t.same(attemptsRun(twice.log, 'add'), [1, 2], 'the first run tried add twice');
    const resumed = await twice.restart();
    t.equal(resumed.again.status, 'succeeded');
    t.same(
      resumed.issued,
      [
        ['add', 3],
        ['add', 4],
      ],
      'its third and fourth tries',
    );
    t.same(attemptsRun(twice.log, 'add'), [1, 2, 3, 4], 'as the job itself saw them');

    // Four numbers: the subtrees' adds fail their one try; the root's follow-on add never ran.
    const subtrees = await treeFailingAdd(t, { n: 4, failTimes: 2, retryCount: 0 });
    t.equal(subtrees.first.status, 'failed');
    const after = await subtrees.restart();
    t.equal(after.again.status, 'succeeded');
    t.same(
      after.issued,
      [
        ['add', 2],
        ['add', 2],
        ['add', 1],
      ],
      "the subtrees' adds on their second try, the root's on its first",
    );
  },
);

t.test(
  'a ticket written before tickets named their attempt resumes its job past every earlier leader’s numbers',
  async (t) => {
    const { store, first, restart } = await treeFailingAdd(t, { n: 2, failTimes: 1, retryCount: 0 });
    const jobId = first.status === 'failed' ? first.failures[0]!.jobId : '';
    const ticket = await store.readTicket(jobId);
    t.match(
      ticket,
      { attempt: 1, generation: 0 },
      'a ticket names the attempt and generation it was written for',
    );
    const { attempt: _attempt, generation: _generation, ...older } = ticket!;
    await store.writeTicket(older);
    const { again, issued } = await restart();
    t.equal(again.status, 'succeeded');
    t.same(issued, [['add', 1001]], 'numbered as that store’s leaders numbered it');
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
