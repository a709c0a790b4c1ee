import t from 'tap';
import { endedWithin, toilWaitingOnSilentS3 } from '../fixtures/silentEndpoint.js';
import { scratchDir } from '../fixtures/workflowCli.js';

t.setTimeout(90_000);

// The commands that only read a job store opened an aws: store with no watch on its S3 calls: on
// an endpoint that takes connections and never answers, each sat with nothing on the screen
// until Ctrl-C. Each now says, as a run does, what it is waiting for and how to stop waiting.
const COMMANDS: readonly (readonly string[])[] = [
  ['status', 'aws:us-west-2:silent-store'],
  ['stats', 'aws:us-west-2:silent-store'],
  ['kill', 'aws:us-west-2:silent-store'],
  ['clean', 'aws:us-west-2:silent-store'],
  ['debug-job', 'aws:us-west-2:silent-store', 'some-job'],
  ['debug-file', 'aws:us-west-2:silent-store', '--listFilesInJobStore'],
];

t.test(
  'each store-reading command on a silent S3 endpoint says what it waits for, and Ctrl-C ends it',
  async (t) => {
    const dir = scratchDir(t);
    await Promise.all(
      COMMANDS.map(async (args) => {
        const command = args[0] as string;
        const running = await toilWaitingOnSilentS3(t, args, dir);
        const stderr = running.stderr();
        t.match(
          stderr,
          new RegExp(
            `WARNING jobstore\\.s3: S3 at ${running.endpoint.replace(/\./g, '\\.')} has not answered HeadBucket on bucket silent-store--toil for \\d+ s: toil ${command} waits for it \\(Ctrl-C stops the wait\\); check that the endpoint is up and reachable$`,
            'm',
          ),
          `toil ${command} names the endpoint, the call and itself`,
        );
        t.notMatch(stderr, /leader/, `toil ${command} speaks of no leader or lease`);
        running.child.kill('SIGINT');
        const ended = await endedWithin(running.done, 10_000);
        if (ended === 'still running') {
          t.fail(`toil ${command} still running 10 s after Ctrl-C`);
          return;
        }
        // The watch holds no handler of its own: Ctrl-C ends the command as it did without one.
        t.same(
          { code: ended.code, signal: ended.signal },
          { code: null, signal: 'SIGINT' },
          `toil ${command}: ended by the SIGINT`,
        );
        t.notMatch(ended.stderr, /internal error|\n\s+at /, `toil ${command}: no stack trace`);
      }),
    );
  },
);
