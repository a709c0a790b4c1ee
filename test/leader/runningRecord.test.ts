import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { waitFor } from '../fixtures/waitFor.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore, RUNNING_KEY } from '../../src/jobstore/jobStore.js';
import type { BatchSystem, RunningJobView } from '../../src/ports/batchSystem.js';
import {
  keepRunningRecord,
  MAX_WAITING_LISTED,
  RUNNING_RECORD_POLL_MS,
  RUNNING_RECORD_REFRESH_MS,
  RunningRecordNudge,
  runningJobs,
} from '../../src/leader/runningRecord.js';
import { testDir } from '../fixtures/testDir.js';

const issued = [
  { jobId: 'j-b', name: 'merge', attempt: 1 },
  { jobId: 'j-a', name: 'align', attempt: 2 },
  { jobId: 'j-c', name: 'align', attempt: 1 },
];

t.test(
  'runningJobs: the leader’s issued attempts joined with where the batch system runs them',
  async (t) => {
    const started: RunningJobView[] = [
      { jobId: 'j-a', attempt: 2, batchJobId: '4242', node: 'ip-10-0-0-7', startedAt: 1_000 },
      // An earlier attempt the batch system still reports: not the one the leader waits for.
      { jobId: 'j-c', attempt: 0, batchJobId: '4100', node: 'ip-10-0-0-8' },
    ];
    t.same(runningJobs(issued, { runningJobs: () => started }).jobs, [
      {
        jobId: 'j-a',
        name: 'align',
        attempt: 2,
        state: 'running',
        batchJobId: '4242',
        node: 'ip-10-0-0-7',
        startedAt: 1_000,
      },
      { jobId: 'j-c', name: 'align', attempt: 1, state: 'issued' },
      { jobId: 'j-b', name: 'merge', attempt: 1, state: 'issued' },
    ]);
    t.same(
      runningJobs(issued, {}).jobs.map((j) => j.state),
      ['issued', 'issued', 'issued'],
      'a batch system that cannot say where: every job issued',
    );
  },
);

t.test('runningJobs: a huge queue is counted whole but listed only in part', async (t) => {
  const many = Array.from({ length: MAX_WAITING_LISTED + 500 }, (_, i) => ({
    jobId: `w-${String(i).padStart(5, '0')}`,
    name: 'leaf',
    attempt: 1,
  }));
  const started = many.slice(0, 3).map((j) => ({ ...j, batchJobId: j.jobId }));
  const r = runningJobs(many, { runningJobs: () => started });
  t.equal(r.running, 3, 'every running attempt counted');
  t.equal(r.waiting, MAX_WAITING_LISTED + 497, 'every waiting attempt counted');
  t.equal(r.jobs.length, 3 + MAX_WAITING_LISTED, 'the running ones listed, and the first waiting ones');
  t.same(
    r.jobs.slice(3, 5).map((j) => j.jobId),
    ['w-00003', 'w-00004'],
    'the waiting ones listed are the first issued',
  );
});

t.test(
  'keepRunningRecord writes running.json when what runs changes, refreshes it once a minute, and stops with the run',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-running-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const objects = new FileObjectStore(join(dir, 'js'));
    const store = new JobStore(objects);
    await store.create();
    const clock = new ManualClock(Date.UTC(2026, 10, 30, 10, 0, 0));
    let writes = 0;
    const put = objects.put.bind(objects);
    objects.put = async (key: string, body: string | Buffer) => {
      const r = await put(key, body);
      if (key === RUNNING_KEY) writes++;
      return r;
    };
    let now: RunningJobView[] = [];
    let held = 0;
    const batchSystem = { name: 'slurm', runningJobs: () => now } as unknown as BatchSystem;
    const stop = new AbortController();
    const loop = keepRunningRecord({
      store,
      generation: 3,
      batchSystem,
      issued: () => issued.slice(0, 1),
      held: () => held,
      clock,
      log: silentLogger(),
      signal: stop.signal,
    });
    // One look at a time: the loop's writes are real file I/O, so each look is let finish.
    const settle = (): Promise<void> =>
      waitFor('the loop to look and sleep again', () => clock.pendingSleepers > 0, 5_000, 1);
    const looks = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        await clock.advance(RUNNING_RECORD_POLL_MS);
        await settle();
      }
    };
    await settle();
    t.equal(writes, 1, 'written at the start of the run');
    t.match(await store.readRunning(), {
      generation: 3,
      batchSystem: 'slurm',
      at: clock.now(),
      jobs: [{ jobId: 'j-b', state: 'issued' }],
    });
    await looks(3);
    t.equal(writes, 1, 'nothing changed: nothing written');
    now = [{ jobId: 'j-b', attempt: 1, batchJobId: '77', node: 'n1', startedAt: clock.now() }];
    await looks(1);
    t.equal(writes, 2, 'the job started: written at the next look');
    t.match(await store.readRunning(), {
      jobs: [{ jobId: 'j-b', state: 'running', batchJobId: '77', node: 'n1' }],
    });
    t.equal((await store.readRunning())?.held, undefined, 'none held back: no count');
    held = 3;
    await looks(1);
    t.equal(writes, 3, 'jobs held back by a limit: written at the next look');
    t.match(await store.readRunning(), { held: 3, running: 1, waiting: 0 });
    await looks(RUNNING_RECORD_REFRESH_MS / RUNNING_RECORD_POLL_MS - 1);
    t.equal(writes, 3, 'unchanged for under a minute: not rewritten');
    await looks(1);
    t.equal(writes, 4, 'unchanged for a minute: rewritten, so its age shows the leader still looks');
    stop.abort();
    await loop;
    await clock.advance(RUNNING_RECORD_REFRESH_MS * 2);
    t.equal(writes, 4, 'the run ended: no more writes');
  },
);

t.test(
  'keepRunningRecord: a job issued is recorded at the next second, not the next 5-second poll, and a job that starts within a second of it',
  async (t) => {
    const dir = testDir(t);
    const objects = new FileObjectStore(join(dir, 'js'));
    const store = new JobStore(objects);
    await store.create();
    const start = Date.UTC(2026, 10, 30, 10, 0, 0);
    const clock = new ManualClock(start);
    let now: RunningJobView[] = [];
    let issuedNow: typeof issued = [];
    const batchSystem = { name: 'slurm', runningJobs: () => now } as unknown as BatchSystem;
    const nudge = new RunningRecordNudge();
    const stop = new AbortController();
    t.teardown(() => stop.abort());
    const loop = keepRunningRecord({
      store,
      generation: 1,
      batchSystem,
      issued: () => issuedNow,
      held: () => 0,
      clock,
      log: silentLogger(),
      signal: stop.signal,
      nudge,
    });
    const settle = (): Promise<void> =>
      waitFor('the loop to look and sleep again', () => clock.pendingSleepers > 0, 5_000, 1);
    await settle();
    t.match(await store.readRunning(), { at: start, running: 0, waiting: 0 }, 'nothing issued at the start');

    // The leader issues a job 200 ms in and nudges: recorded a second after the last look.
    await clock.advance(200);
    issuedNow = issued.slice(0, 1);
    nudge.nudge();
    await settle();
    await clock.advance(800);
    await settle();
    t.match(
      await store.readRunning(),
      { at: start + 1_000, running: 0, waiting: 1 },
      'issued: recorded 1 s in, not at the 5 s poll',
    );

    // It starts 300 ms later (a batch system says nothing): seen at the next look, a second on.
    await clock.advance(300);
    now = [{ jobId: 'j-b', attempt: 1, batchJobId: '77', node: 'n1', startedAt: clock.now() }];
    await clock.advance(700);
    await settle();
    t.match(
      await store.readRunning(),
      { at: start + 2_000, running: 1, waiting: 0, jobs: [{ jobId: 'j-b', state: 'running' }] },
      'started: the next report counts it running (as of 2 s in, not 5)',
    );
    stop.abort();
    await loop;
  },
);
