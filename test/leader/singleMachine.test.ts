import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { SingleMachineBatchSystem, scaledCores } from '../../src/leader/singleMachine.js';

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

function system(coreScale?: number): {
  bs: SingleMachineBatchSystem;
  updates: JobUpdate[];
  next: () => Promise<JobUpdate>;
} {
  const bs = new SingleMachineBatchSystem({
    maxCores: 2,
    ...(coreScale !== undefined ? { coreScale } : {}),
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

t.test("--scale: a job counts as its cores times the factor, in tenths of a core, as Toil's", async (t) => {
  const rows: [what: string, cores: number, scale: number, counts: number][] = [
    ['no scale', 3, 1, 3],
    ['half', 4, 0.5, 2],
    ['rounded up to a tenth', 1, 0.25, 0.3],
    ['never below a tenth', 1, 0.01, 0.1],
    ['no float noise', 3, 1 / 3, 1],
  ];
  for (const [what, cores, scale, counts] of rows) t.equal(scaledCores(cores, scale), counts, what);
});

t.test(
  '--scale: jobs written for bigger machines run, as many at once as their scaled cores fit',
  async (t) => {
    const { bs, next } = system(0.25);
    t.teardown(() => bs.shutdown());
    t.same(bs.maxJobRequirements().cores, 8, 'the largest job, as it declares itself');
    await t.rejects(bs.issue(job('huge', '0', 12)), {
      code: 'JOB_TOO_BIG',
      message: /asks for 3 cores \(12 cores at --scale 0\.25\)/,
    });
    const slow = 'setTimeout(() => process.exit(0), 300)';
    for (const id of ['a', 'b', 'c']) await bs.issue(job(id, slow, 4));
    const first = await next();
    t.equal(first.outcome, 'succeeded');
    t.ok(['a', 'b'].includes(first.jobId), 'two 4-core jobs at 0.25 fill the 2 cores; c waited');
    await next();
    t.equal((await next()).jobId, 'c');
  },
);
