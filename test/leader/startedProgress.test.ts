import t from 'tap';
import { startedProgress } from '../../src/leader/startedProgress.js';
import type { RunningJobView } from '../../src/ports/batchSystem.js';

function system(issued: string[], started: string[] | undefined) {
  return {
    issuedJobIds: () => new Set(issued),
    ...(started && {
      runningJobs: (): readonly RunningJobView[] =>
        started.map((jobId) => ({ jobId, attempt: 1, batchJobId: jobId })),
    }),
  };
}

t.test(
  'issued jobs split into started (running) and queued (waiting), as the batch system has them',
  async (t) => {
    const base = { known: 10, completed: 2, failed: 0 };
    const rows: [
      string,
      Parameters<typeof startedProgress>[0],
      ReturnType<typeof system>,
      { running: number; waiting?: number },
    ][] = [
      ['all queued', { ...base, running: 3 }, system(['a', 'b', 'c'], []), { running: 0, waiting: 3 }],
      ['some started', { ...base, running: 3 }, system(['a', 'b', 'c'], ['b']), { running: 1, waiting: 2 }],
      ['all started', { ...base, running: 2 }, system(['a', 'b'], ['a', 'b']), { running: 2, waiting: 0 }],
      // A job that ended since the run's last count is no longer issued: not counted started.
      [
        'a started job no longer issued',
        { ...base, running: 2 },
        system(['a', 'b'], ['a', 'z']),
        { running: 1, waiting: 1 },
      ],
      // Split already: read again, the issued total stays what the run counted.
      [
        'read again',
        { ...base, running: 1, waiting: 2 },
        system(['a', 'b', 'c'], ['a', 'b']),
        { running: 2, waiting: 1 },
      ],
      [
        'a batch system that cannot tell',
        { ...base, running: 3 },
        system(['a', 'b', 'c'], undefined),
        { running: 3 },
      ],
    ];
    for (const [name, progress, bs, want] of rows) {
      const got = startedProgress(progress, bs);
      t.same(
        { running: got.running, ...(got.waiting !== undefined && { waiting: got.waiting }) },
        want,
        name,
      );
      t.equal(got.completed, progress.completed, `${name}: the rest kept`);
    }
  },
);
