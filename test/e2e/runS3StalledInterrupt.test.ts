import { join } from 'node:path';
import t from 'tap';
import { endedWithin, toilWaitingOnSilentS3 } from '../fixtures/silentEndpoint.js';
import { REPO_ROOT, scratchDir } from '../fixtures/workflowCli.js';

t.setTimeout(120_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// An S3 endpoint that takes every connection and never answers (a stalled server, a hung proxy).
// S3 calls carry no deadline, so a toil run's first read of the store waited on it for ever; a
// Ctrl-C or SIGTERM then said it was stopping the workflow and went on waiting, so a run under
// `timeout` or a scheduler's SIGTERM never ended. Nothing is written before the run holds the
// store's lease: the stop ends the run at once, saying the store had not answered.

for (const [how, extra, signal, code] of [
  ['a new workflow', [], 'SIGTERM', 143],
  ['a --restart', ['--restart'], 'SIGINT', 130],
] as const) {
  t.test(
    `${how} whose S3 job store never answers ends at the first ${signal}, saying nothing was written`,
    async (t) => {
      const dir = scratchDir(t);
      // Past the first warning: the run is waiting on the store's first answer.
      const running = await toilWaitingOnSilentS3(
        t,
        [
          'run',
          TREE,
          'aws:us-west-2:stalled-store',
          ...extra,
          '--n',
          '2',
          '--out',
          'out.txt',
          '--log',
          'exec.log',
        ],
        dir,
      );
      running.child.kill(signal);
      const sentAt = Date.now();
      const ended = await endedWithin(running.done, 10_000);
      if (ended === 'still running') {
        t.fail(`still running 10 s after one ${signal}`);
        return;
      }
      t.equal(ended.code, code, ended.stderr);
      t.ok(Date.now() - sentAt < 10_000, 'ended without a second signal');
      t.match(
        ended.stderr,
        new RegExp(
          `^toil: workflow interrupted by ${signal} while waiting for the job store aws:us-west-2:stalled-store to answer, before the run held it: nothing of the run was written; run the same command again once the store answers$`,
          'm',
        ),
      );
      t.notMatch(ended.stderr, /internal error|\n\s+at /, 'no stack trace');
    },
  );
}
