import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { submitWorkflow } from '../../src/leader/submitClient.js';
import { STATE_DAEMON_TOKEN, STATE_DAEMON_WORKFLOW, daemonOnState } from '../fixtures/stateDaemon.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * The back-off of a submission to a leader restarting is bounded: past its window the answer
 * that kept it waiting is the error, as it was at once before (the leader's 503, or that it
 * cannot be reached). An answer that waiting does not change (a 400) is the error at once.
 */
const WINDOW_MS = 1500;

function retryRecorder(): { said: string[]; retry: Parameters<typeof submitWorkflow>[3] } {
  const said: string[] = [];
  return { said, retry: { clock: new RealClock(), forMs: WINDOW_MS, onRetrying: (why) => said.push(why) } };
}

t.test('a leader that stays draining: its 503 after the window', async (t) => {
  const dir = testDir(t);
  let release = (): void => {};
  const released = new Promise<void>((r) => (release = r));
  const leader = await daemonOnState(t, join(dir, 'state'), { release: released });
  t.teardown(() => release());
  const submission = { workflowFile: STATE_DAEMON_WORKFLOW, jobStore: `file:${join(dir, 'a')}`, args: [] };
  await submitWorkflow(leader.url, STATE_DAEMON_TOKEN, submission);
  await waitFor('the run started', () => leader.runs.length === 1);
  void leader.daemon.stop();
  await waitFor('the leader draining', () => leader.daemon.state === 'draining');
  const { said, retry } = retryRecorder();
  const startedAt = Date.now();
  const err = await submitWorkflow(
    leader.url,
    STATE_DAEMON_TOKEN,
    { ...submission, jobStore: `file:${join(dir, 'b')}` },
    retry,
  ).catch((e: unknown) => e);
  const waited = Date.now() - startedAt;
  t.match(err, {
    code: 'LEADER_REFUSED',
    message: `the leader at ${leader.url} refused the workflow (HTTP 503): the leader is draining; it takes no new workflows`,
  });
  t.ok(waited >= WINDOW_MS && waited < WINDOW_MS + 5000, `gave up after the window (${waited} ms)`);
  t.same(said, ['the leader is draining; it takes no new workflows'], 'said once');
  t.equal(leader.runs.length, 1, 'nothing more ran');
});

t.test('a port nothing listens on: unreachable after the window', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  const url = `http://127.0.0.1:${port}`;
  const { said, retry } = retryRecorder();
  const startedAt = Date.now();
  const err = await submitWorkflow(
    url,
    STATE_DAEMON_TOKEN,
    { workflowFile: STATE_DAEMON_WORKFLOW, jobStore: 'file:/nowhere', args: [] },
    retry,
  ).catch((e: unknown) => e);
  t.ok(Date.now() - startedAt >= WINDOW_MS, 'waited the window');
  t.match(err, {
    code: 'LEADER_UNREACHABLE',
    message: new RegExp(`^--leader ${url}: cannot reach the leader \\(`),
  });
  t.same(said, ['connection refused']);
});

t.test('a refusal waiting does not change is the error at once', async (t) => {
  const leader = await daemonOnState(t, join(testDir(t), 'state'));
  const { said, retry } = retryRecorder();
  const err = await submitWorkflow(
    leader.url,
    STATE_DAEMON_TOKEN,
    { workflowFile: 'relative.ts', jobStore: 'file:/nowhere', args: [] },
    retry,
  ).catch((e: unknown) => e);
  t.match(err, { code: 'LEADER_REFUSED', message: /refused the workflow: / });
  t.same(said, [], 'not retried');
});
