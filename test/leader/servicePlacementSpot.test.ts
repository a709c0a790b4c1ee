import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { resolveJobRequirements } from '../../src/jobstore/jobRecords.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { InProcessBatchSystem, awaitAdvancing } from '../fixtures/workflowInProcess.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * Services and spot: a service is not run again when its node goes, so a spot reclaim under one
 * fails the workflow. A service runs on spot only when it says `preemptable: true` itself;
 * --defaultPreemptable does not reach it. One that says so and is lost fails naming the reclaim.
 */
const WORKFLOW = repoPath('test/fixtures/workflowServiceRoom.ts');
const DEFAULTS = { cores: 1, memory: 2 ** 26, disk: 2 ** 20 };

async function run(
  t: Test,
  o: { args: string[]; defaultPreemptable: boolean; lose?: (job: IssuedJob) => JobUpdate | undefined },
) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-svc-spot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new JobStore(new FileObjectStore(join(dir, 'js')));
  const bs = new InProcessBatchSystem(store, dir, o.lose ? { interfere: o.lose } : {});
  const clock = new ManualClock();
  const outcome = runWorkflow({
    store,
    workflowFile: WORKFLOW,
    args: o.args,
    restart: false,
    clean: 'never',
    retryCount: 1,
    defaults: { ...DEFAULTS, preemptable: o.defaultPreemptable },
    servicePollMs: 20,
    batchSystem: bs,
    clock,
    log: silentLogger(),
    workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
    workDir: dir,
  });
  // The leader's service polls sleep on its clock: it runs 20 ms a step.
  const out = await awaitAdvancing(clock, outcome, 20);
  const placed = Object.fromEntries(bs.issuedLog.map((j) => [j.name, j.requirements.preemptable]));
  return { out, placed };
}

t.test('--defaultPreemptable places the jobs on spot but not a service that says nothing', async (t) => {
  const { out, placed } = await run(t, { args: [], defaultPreemptable: true });
  t.equal(out.status, 'succeeded');
  t.same(placed, { host: true, bigDb: false, wide: true }, 'the service goes to on-demand');
});

t.test('a service that says preemptable: true may run on spot', async (t) => {
  const { out, placed } = await run(t, { args: ['--spot'], defaultPreemptable: false });
  t.equal(out.status, 'succeeded');
  t.same(placed, { host: false, spotDb: true, wide: false });
});

t.test(
  'a preemptable service lost with its node: the workflow fails saying a spot reclaim took it and how to avoid it',
  async (t) => {
    const { out } = await run(t, {
      args: ['--spot'],
      defaultPreemptable: false,
      lose: (job) =>
        job.name === 'spotDb'
          ? {
              jobId: job.jobId,
              attempt: job.attempt,
              outcome: 'lost',
              message: 'spot interruption',
              node: 'i-1',
            }
          : undefined,
    });
    t.equal(out.status, 'failed');
    if (out.status !== 'failed') return;
    const spotDb = out.failures.find((f) => f.name === 'spotDb');
    t.ok(spotDb, 'the service is named among the failures');
    t.match(
      spotDb?.reason,
      /^service 'spotDb' lost with its node \(spot interruption on i-1\): it says preemptable: true, so it may run on a spot node, and a spot reclaim takes it there; a service is not run again .*Declare the service preemptable: false \(on-demand\), or make its host or a job above it a checkpoint/s,
    );
    t.equal(spotDb?.attempts, 1, 'not run again, retryCount 1 notwithstanding');
  },
);

t.test('an on-demand service lost with its node fails as before, with no word of spot', async (t) => {
  const { out } = await run(t, {
    args: [],
    defaultPreemptable: true,
    lose: (job) =>
      job.name === 'bigDb'
        ? { jobId: job.jobId, attempt: job.attempt, outcome: 'lost', message: 'agent lost', node: 'i-2' }
        : undefined,
  });
  t.equal(out.status, 'failed');
  if (out.status !== 'failed') return;
  const reason = out.failures.find((f) => f.name === 'bigDb')?.reason ?? '';
  t.match(reason, /^service lost \(agent lost on i-2\)/);
  t.notMatch(reason, /spot/);
});

t.test('requirements in effect: a service takes every default but preemptable', async (t) => {
  const defaults = { ...DEFAULTS, preemptable: true };
  t.same(resolveJobRequirements({ service: true }, {}, defaults), { ...DEFAULTS, preemptable: false });
  t.same(resolveJobRequirements({ service: true }, { preemptable: true }, defaults), {
    ...DEFAULTS,
    preemptable: true,
  });
  t.same(resolveJobRequirements({}, {}, defaults), defaults, 'any other job: the defaults');
  t.same(resolveJobRequirements({}, { preemptable: false }, defaults), { ...DEFAULTS, preemptable: false });
});
