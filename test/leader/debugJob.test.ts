import t from 'tap';
import { isUserError } from '../../src/common/errors.js';
import { chooseJob } from '../../src/leader/debugJob.js';

const jobs = [
  { jobId: 'id-1', name: 'align' },
  { jobId: 'id-2', name: 'align' },
  { jobId: 'id-3', name: 'align' },
  { jobId: 'id-4', name: 'merge' },
];
const failed = (...ids: string[]): { jobId: string; name: string; error: string }[] =>
  ids.map((jobId) => ({ jobId, name: jobs.find((j) => j.jobId === jobId)!.name, error: 'Error: boom' }));

/** The code and message chooseJob throws. */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isUserError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

t.test('debug-job resolves JOB the way Toil does', async (t) => {
  t.equal(chooseJob('id-2', jobs, [], 'file:js').jobId, 'id-2', 'a job id');
  t.equal(chooseJob('merge', jobs, [], 'file:js').jobId, 'id-4', 'a name of one job');
  t.equal(
    chooseJob('align', jobs, failed('id-3'), 'file:js').jobId,
    'id-3',
    'a name of several jobs: the one that failed for good',
  );
});

t.test(
  'debug-job refuses a name of several jobs unless exactly one failed, naming the candidates',
  async (t) => {
    t.same(
      refusal(() => chooseJob('align', jobs, [], 'file:js')),
      {
        code: 'JOB_AMBIGUOUS',
        message:
          "job name 'align' matches 3 jobs in job store file:js: give one of their ids: id-1, id-2, id-3",
      },
    );
    t.same(
      refusal(() => chooseJob('align', jobs, failed('id-1', 'id-3'), 'file:js')),
      {
        code: 'JOB_AMBIGUOUS',
        message:
          "job name 'align' matches 3 jobs in job store file:js, 2 of them failed for good: give one of their ids: id-1, id-3",
      },
    );
  },
);

t.test('debug-job with no match suggests the failed jobs, else the names there are', async (t) => {
  t.same(
    refusal(() => chooseJob('nope', jobs, failed('id-2'), 'file:js')),
    {
      code: 'JOB_NOT_FOUND',
      message: "no job named 'nope' or with that id in job store file:js; failed for good: align (id-2)",
    },
  );
  t.same(
    refusal(() => chooseJob('nope', jobs, [], 'file:js')),
    {
      code: 'JOB_NOT_FOUND',
      message: "no job named 'nope' or with that id in job store file:js; job names: align, merge",
    },
  );
  t.match(refusal(() => chooseJob('nope', [], [], 'file:js')).message, /no job of it has been issued yet$/);
});
