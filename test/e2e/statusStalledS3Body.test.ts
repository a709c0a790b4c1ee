import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { bodyStallingProxy } from '../fixtures/bodyStallingProxy.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Env, startMoto } from '../fixtures/motoServer.js';
import { s3rverAndScratchDir } from '../fixtures/s3rver.js';
import { endedWithin } from '../fixtures/silentEndpoint.js';
import { waitFor } from '../fixtures/waitFor.js';
import { REPO_ROOT, runToil, scratchDir, startToil, type ToilResult } from '../fixtures/workflowCli.js';

t.setTimeout(180_000);
// Each case has an S3 server, a proxy and a directory of its own, and mostly waits out its 5-s
// stall: they run side by side.
t.jobs = 3;

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
const LOCATOR = 'aws:us-west-2:stalled-body';

/** An S3 server of the test's own, with a scratch directory: the environment that points a store at it. */
type Backing = (t: Test) => Promise<{ env: Readonly<Record<string, string>>; dir: string }>;

const onS3rver: Backing = async (t) => {
  const { server, dir } = await s3rverAndScratchDir(t);
  return { env: server.env, dir };
};
const onMoto: Backing = async (t) => {
  const moto = await startMoto();
  t.teardown(() => moto.stop());
  return { env: motoS3Env(moto), dir: scratchDir(t) };
};

/**
 * `toil ARGS` on a store a finished run left on `backing`, through a proxy that holds back the
 * rest of workflow.json's body, once it has warned of a stall: when the proxy held the body back,
 * and when the warning came.
 */
async function toilStalledInWorkflowRecord(
  t: Test,
  backing: Backing,
  args: readonly string[],
): Promise<{
  endpoint: string;
  stalledAt: number | undefined;
  warnedAt: number;
  stderr: () => string;
  child: ChildProcess;
  done: Promise<ToilResult>;
}> {
  const { env, dir } = await backing(t);
  const ran = await runToil(
    ['run', TREE, LOCATOR, '--out', 'out.txt', '--log', 'exec.log', '--clean', 'never', '--disableProgress'],
    { cwd: dir, env },
  );
  t.equal(ran.code, 0, 'the run that fills the store succeeded', { stderr: ran.stderr });
  const proxy = await bodyStallingProxy(t, new URL(env.AWS_ENDPOINT_URL_S3!), /\/workflow\.json(\?|$)/);
  const running = startToil(args, { cwd: dir, env: { ...env, AWS_ENDPOINT_URL_S3: proxy.endpoint } });
  t.teardown(() => running.child.kill('SIGKILL'));
  let stderr = '';
  let warnedAt = 0;
  running.child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (warnedAt === 0 && /has not answered/.test(stderr)) warnedAt = Date.now();
  });
  await waitFor('the warning that S3 stopped in the middle of a body', () => warnedAt !== 0, 30_000);
  return {
    endpoint: proxy.endpoint,
    stalledAt: proxy.stalledAt(),
    warnedAt,
    stderr: () => stderr,
    ...running,
  };
}

// S3 that sends a response's headers and then stops in the middle of its body (a proxy or a
// server hung mid-transfer): the call's own watch ended with the headers, and toil status, which
// reads every record's body, sat with nothing on the screen. moto, as S3, sends each object's
// SHA-256 with it, and the SDK then hands over the body wrapped in a stream that checks it. A
// restart reads the workflow's record before it holds the lease: Ctrl-C ended it there only once
// the store answered, where it ends one whose store does not answer at all.
const S3RVER = { on: 's3rver', backing: onS3rver } as const;
const MOTO = { on: 'moto (which sends each object its SHA-256)', backing: onMoto } as const;
const STATUS = {
  who: 'toil status',
  args: ['status', LOCATOR],
  waits: 'toil status waits for it \\(Ctrl-C stops the wait\\)',
  ended: { code: null, signal: 'SIGINT' },
} as const;
const CASES = [
  { ...STATUS, ...S3RVER },
  { ...STATUS, ...MOTO },
  {
    who: 'toil run --restart',
    ...MOTO,
    args: ['run', TREE, LOCATOR, '--restart', '--disableProgress'],
    waits: 'the leader waits for it \\(once it holds the job store, .*; before, Ctrl-C stops the wait\\)',
    ended: { code: 130, signal: null },
    said: /^toil: workflow interrupted by SIGINT while waiting for the job store aws:us-west-2:stalled-body to answer, before the run held it: nothing of the run was written; run the same command again once the store answers$/m,
  },
] as const;

for (const { who, on, backing, args, waits, ended: expected, ...rest } of CASES) {
  t.test(
    `${who} on ${on} behind a proxy that stops in the middle of workflow.json names the object within 6 s, and Ctrl-C ends it`,
    { skip: backing === onMoto && !motoAvailable() ? MOTO_MISSING_REASON : false },
    async (t) => {
      const running = await toilStalledInWorkflowRecord(t, backing, args);
      t.not(running.stalledAt, undefined, 'the proxy held back the rest of workflow.json');
      const after = running.warnedAt - (running.stalledAt ?? 0);
      t.ok(after >= 4_500 && after <= 6_500, `warned ${after} ms into the stall`);
      t.match(
        running.stderr(),
        new RegExp(
          `WARNING jobstore\\.s3: S3 at ${running.endpoint.replace(/\./g, '\\.')} has not answered GetObject of workflow\\.json \\(the rest of its body\\) on bucket stalled-body--toil for \\d+ s: ${waits}; check that the endpoint is up and reachable$`,
          'm',
        ),
        'names the endpoint, the object, the bucket and who waits',
      );
      running.child.kill('SIGINT');
      const ended = await endedWithin(running.done, 10_000);
      if (ended === 'still running') {
        t.fail(`${who} still running 10 s after Ctrl-C`, { stderr: running.stderr() });
        return;
      }
      t.same({ code: ended.code, signal: ended.signal }, expected, 'ended by the first SIGINT');
      if ('said' in rest) t.match(ended.stderr, rest.said, 'says the run stopped before it held the store');
      t.notMatch(ended.stderr, /internal error|\n\s+at /, 'no stack trace');
    },
  );
}
