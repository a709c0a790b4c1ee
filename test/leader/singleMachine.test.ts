import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { processAlive } from '../../src/common/processIdentity.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { SingleMachineBatchSystem, scaledCores } from '../../src/leader/singleMachine.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

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

t.test(
  'stopping a worker sends its group SIGTERM once, then SIGKILL to a worker still there after the grace',
  async (t) => {
    const dir = testDir(t);
    const { bs } = system();
    // Cleans up on SIGTERM (as a worker deletes its attempt's files) and says how many it got.
    const graceful = `
      let got = 0;
      process.on('SIGTERM', () => {
        if (got++ === 0) setTimeout(() => {
          require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'graceful'))}, String(got));
          process.exit(0);
        }, 500);
      });
      require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'graceful.pid'))}, String(process.pid));
      setInterval(() => {}, 1000);`;
    // A job blocking its worker's event loop: the handler never runs.
    const stubborn = `
      process.on('SIGTERM', () => {});
      require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'stubborn.pid'))}, String(process.pid));
      setInterval(() => {}, 1000);`;
    await bs.issue(job('g', graceful));
    await bs.issue(job('s', stubborn));
    await waitFor(
      'both workers to start',
      () => existsSync(join(dir, 'graceful.pid')) && existsSync(join(dir, 'stubborn.pid')),
      30_000,
    );
    const started = Date.now();
    // A job killed, then the run shut down (a failed run cancelling the rest): one SIGTERM each.
    const killing = bs.kill('g');
    await bs.shutdown();
    await killing;
    const took = Date.now() - started;
    const cleanedUp = join(dir, 'graceful');
    t.equal(
      existsSync(cleanedUp) && readFileSync(cleanedUp, 'utf8'),
      '1',
      'the worker cleaned up, told once',
    );
    const stubbornPid = Number(readFileSync(join(dir, 'stubborn.pid'), 'utf8'));
    t.notOk(processAlive(stubbornPid), 'the worker ignoring SIGTERM was killed');
    t.ok(took >= 2_500 && took < 10_000, `after the grace (${took} ms)`);
  },
);
