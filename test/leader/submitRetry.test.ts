import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { FIRST_CONTACT_REFUSED_MS, submitWorkflow } from '../../src/leader/submitClient.js';
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
  let stopping: Promise<void> = Promise.resolve();
  // The run's end and the stop's writes to the state directory are done before it is removed: a
  // second stop() of a draining daemon returns at once, without them.
  t.teardown(async () => {
    release();
    await stopping;
  });
  const submission = { workflowFile: STATE_DAEMON_WORKFLOW, jobStore: `file:${join(dir, 'a')}`, args: [] };
  await submitWorkflow(leader.url, STATE_DAEMON_TOKEN, submission);
  await waitFor('the run started', () => leader.runs.length === 1);
  stopping = leader.daemon.stop();
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

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A submission to `url`, where nothing listens: what it threw, and after how long. */
async function submitToNothing(
  url: string,
  retry: Parameters<typeof submitWorkflow>[3],
): Promise<{ err: unknown; waited: number }> {
  const startedAt = Date.now();
  const err = await submitWorkflow(
    url,
    STATE_DAEMON_TOKEN,
    { workflowFile: STATE_DAEMON_WORKFLOW, jobStore: 'file:/nowhere', args: [] },
    retry,
  ).catch((e: unknown) => e);
  return { err, waited: Date.now() - startedAt };
}

/**
 * Refused connections while nothing has answered are a URL nothing listens on (a wrong port, a
 * leader not started): said as such within FIRST_CONTACT_REFUSED_MS, in silence until then,
 * not announced as a restart and waited out for the whole window (a minute for toil run).
 */
t.test('a port nothing listens on: refused within the first-contact window, not the whole one', async (t) => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const said: string[] = [];
  const retry = { clock: new RealClock(), forMs: 60_000, onRetrying: (why: string) => said.push(why) };
  const { err, waited } = await submitToNothing(url, retry);
  t.ok(
    waited >= FIRST_CONTACT_REFUSED_MS && waited < FIRST_CONTACT_REFUSED_MS + 2000,
    `gave up after ${waited} ms (the first-contact window is ${FIRST_CONTACT_REFUSED_MS} ms, the whole 60000)`,
  );
  t.match(err, {
    code: 'LEADER_UNREACHABLE',
    message: new RegExp(
      `^--leader ${url}: nothing listens there \\(connection refused for 10\\.\\d s\\) \\(expected a running toil leader at that URL: start one with 'toil leader', or give the URL it printed\\)$`,
    ),
  });
  t.same(said, [], 'no restart announced');
});

t.test('a shorter window bounds the first-contact one', async (t) => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const { said, retry } = retryRecorder();
  const { err, waited } = await submitToNothing(url, retry);
  t.ok(waited >= WINDOW_MS && waited < WINDOW_MS + 2000, `gave up after the window (${waited} ms)`);
  t.match(err, {
    code: 'LEADER_UNREACHABLE',
    message: /: nothing listens there \(connection refused for 1\.\d s\)/,
  });
  t.same(said, []);
});

t.test('a leader that starts listening within the first-contact window takes the submission', async (t) => {
  const port = await closedPort();
  const said: string[] = [];
  const retry = { clock: new RealClock(), forMs: 60_000, onRetrying: (why: string) => said.push(why) };
  const submitted = submitWorkflow(
    `http://127.0.0.1:${port}`,
    STATE_DAEMON_TOKEN,
    { workflowFile: STATE_DAEMON_WORKFLOW, jobStore: 'file:/a', args: [] },
    retry,
  );
  await new Promise((r) => setTimeout(r, 500));
  // A stand-in that starts at once: a daemon's own start, on a loaded machine, may take longer
  // than the window, which is not what is checked here.
  const bodies: string[] = [];
  const leader = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'wf-1', status: 'running' }));
    });
  });
  await new Promise<void>((r) => leader.listen(port, '127.0.0.1', r));
  t.teardown(() => void leader.close());
  const run = await submitted;
  t.equal(run.id, 'wf-1', 'the leader that came up took it');
  t.equal(bodies.length, 1, 'sent to it once');
  t.equal((JSON.parse(bodies[0]!) as { jobStore: string }).jobStore, 'file:/a');
  t.same(said, [], 'no restart announced');
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
