import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { SingleMachineBatchSystem } from '../../src/leader/singleMachine.js';

function job(id: string, script: string, cores = 1, memory = 2 ** 20): IssuedJob {
  return {
    jobId: id,
    attempt: 1,
    name: `job-${id}`,
    requirements: { cores, memory, disk: 1, preemptable: false },
    command: [process.execPath, '-e', script],
    jobStoreLocator: 'file:/nowhere',
  };
}

function system(): { bs: SingleMachineBatchSystem; updates: JobUpdate[]; next: () => Promise<JobUpdate> } {
  const bs = new SingleMachineBatchSystem({
    maxCores: 2,
    maxMemory: 2 ** 30,
    maxDisk: 2 ** 30,
    clock: new RealClock(),
    log: silentLogger(),
  });
  const updates: JobUpdate[] = [];
  const waiters: ((u: JobUpdate) => void)[] = [];
  void bs.start((u) => {
    updates.push(u);
    waiters.shift()?.(u);
  });
  let seen = 0;
  const next = (): Promise<JobUpdate> =>
    seen < updates.length
      ? Promise.resolve(updates[seen++]!)
      : new Promise((r) => waiters.push((u) => (seen++, r(u))));
  return { bs, updates, next };
}

t.test('runs fresh worker processes within maxCores, FIFO; exit 0 is success', async (t) => {
  const { bs, next } = system();
  t.teardown(() => bs.shutdown());
  const slow = 'setTimeout(() => process.exit(0), 300)';
  for (const id of ['a', 'b', 'c']) await bs.issue(job(id, slow));
  t.same([...bs.issuedJobIds()].sort(), ['a', 'b', 'c'], 'all three issued');
  const first = await next();
  t.equal(first.outcome, 'succeeded');
  t.ok(['a', 'b'].includes(first.jobId), 'the first two ran first; c waited for a core');
  await next();
  const third = await next();
  t.equal(third.jobId, 'c');
  t.ok((third.wallTimeMs ?? 0) >= 250, 'wall time measured');
});

t.test('a non-zero exit is a failure carrying the tail of the stderr', async (t) => {
  const { bs, next } = system();
  t.teardown(() => bs.shutdown());
  await bs.issue(job('f', "process.stderr.write('it broke here\\n'); process.exit(1)"));
  const u = await next();
  t.match(u, { jobId: 'f', outcome: 'failed', exitCode: 1, message: /exit code 1\nit broke here/ });
});

t.test('a job bigger than the machine is refused up front; kill stops a running job', async (t) => {
  const { bs, next } = system();
  t.teardown(() => bs.shutdown());
  await t.rejects(bs.issue(job('big', '0', 3)), {
    code: 'JOB_TOO_BIG',
    message: /job 'job-big' asks for 3 cores/,
  });
  t.same(bs.maxJobRequirements(), { cores: 2, memory: 2 ** 30, disk: 2 ** 30, preemptable: true });
  await bs.issue(job('k', 'setTimeout(() => {}, 60000)'));
  await bs.issue(job('q', 'setTimeout(() => {}, 60000)', 2));
  await bs.kill('q');
  t.match(await next(), { jobId: 'q', outcome: 'killed' }, 'a queued job is killed at once');
  await bs.kill('k');
  t.match(await next(), { jobId: 'k', outcome: 'killed' });
});
