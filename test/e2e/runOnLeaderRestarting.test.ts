import { join } from 'node:path';
import t from 'tap';
import { startToilProcess } from '../fixtures/leaderE2e.js';
import { STATE_DAEMON_TOKEN, STATE_DAEMON_WORKFLOW, daemonOnState } from '../fixtures/stateDaemon.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * `toil run --leader URL` sent while the leader restarts (a SIGTERM's stop, then its next start on
 * the same state and port) waits for it: the stopping leader's 503 (it takes no new workflows) and
 * the closed port between the two are said once ('leader … is restarting: retrying for up to
 * 60 s') and the submission is sent again until the next start takes it. It exited 2 at the 503.
 */
t.setTimeout(120_000);

t.test('a submission during a restart is taken by the next start, said on one line', async (t) => {
  const dir = testDir(t);
  const stateDir = join(dir, 'state');
  let release = (): void => {};
  const released = new Promise<void>((r) => (release = r));
  // A run the stop waits for keeps the leader draining until the test lets it go.
  const first = await daemonOnState(t, stateDir, { release: released });
  const port = Number(new URL(first.url).port);
  const held = await fetch(`${first.url}/workflows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${STATE_DAEMON_TOKEN}` },
    body: JSON.stringify({ workflowFile: STATE_DAEMON_WORKFLOW, jobStore: `file:${join(dir, 'held')}` }),
  });
  t.equal(held.status, 202);
  const stopping = first.daemon.stop();
  await waitFor('the leader draining', () => first.daemon.state === 'draining');

  const cliStore = `file:${join(dir, 'cli')}`;
  const run = startToilProcess(['run', STATE_DAEMON_WORKFLOW, cliStore, '--leader', first.url], {
    cwd: dir,
    env: { TOIL_LEADER_TOKEN: STATE_DAEMON_TOKEN },
  });
  t.teardown(() => void run.child.kill('SIGKILL'));
  await run.waitFor(/is restarting/, 60_000);
  release();
  await stopping;
  // The port stays closed a while: the client meets refused connections, and keeps waiting.
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(run.child.exitCode, null, 'still waiting while nothing listens');

  const second = await daemonOnState(t, stateDir, { port });
  await waitFor(
    'the next start taking the submission',
    () => second.runs.some((r) => r.submission.jobStore === cliStore),
    60_000,
  ).catch((e: unknown) => {
    // What the client said is why it was not taken (it gave up, or met an answer it does not wait out).
    throw new Error(`${String(e)}; toil run exited ${run.child.exitCode} saying: ${run.output()}`);
  });
  const taken = second.runs.find((r) => r.submission.jobStore === cliStore)!;
  taken.progress({ known: 3, completed: 3, running: 0, failed: 0 });
  taken.end({ status: 'succeeded', jobsRun: 3 });
  const done = await run.done;
  t.equal(done.code, 0, done.stderr);
  const said = run
    .output()
    .split('\n')
    .filter((l) => /restarting/.test(l));
  t.same(
    said,
    [
      `toil: leader ${first.url} is restarting (the leader is draining; it takes no new workflows): retrying for up to 60 s`,
    ],
    'said once, with what the leader answered',
  );
  t.match(run.output(), /toil: submitted workflow \S+ to the leader at /);
  t.match(run.output(), /toil: workflow succeeded on the leader: 3 jobs run/);
});
