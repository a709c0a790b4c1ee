import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { followWorkflow, LeaderUnreachableError } from '../../src/leader/submitClient.js';
import { waitFor } from '../fixtures/waitFor.js';

type Mode = 'running' | 'down' | 'failing' | 'succeeded';
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * A leader's `GET /workflows/:id` on loopback whose answer the test switches: the run as
 * running or succeeded, `down` (the connection is dropped unanswered, as a killed or
 * restarting leader's port behaves to a client), or `failing` (HTTP 500 with the leader's error
 * body, as a route that threw answers).
 */
async function fakeLeader(t: Test): Promise<{
  url: string;
  set(mode: Mode): void;
}> {
  let mode: Mode = 'running';
  const server: Server = createServer((req, res) => {
    if (mode === 'down') return void req.socket.destroy();
    res.setHeader('content-type', 'application/json');
    if (mode === 'failing') {
      res.statusCode = 500;
      return void res.end(
        JSON.stringify({ error: 'GET /workflows/wf-1: the leader failed to answer (its log says why)' }),
      );
    }
    res.end(JSON.stringify({ id: 'wf-1', status: mode, submittedAt: 0 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, set: (m) => void (mode = m) };
}

/** Steps the clock one poll at a time once the follow loop sleeps, until `done` settles. */
async function stepUntil(clock: ManualClock, done: Promise<unknown>, pollMs: number, onStep: () => void) {
  let settled = false;
  void done.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    await waitFor('the follow loop to sleep or end', () => settled || clock.pendingSleepers > 0, 10_000, 2);
    if (settled) break;
    await clock.advance(pollMs);
    onStep();
  }
}

/**
 * Follows wf-1 on `leader` (polls every 500 ms, gives up after 2 min) to its end, switching the
 * leader's answer at the given polls; with what the follow said of silences and returns.
 */
async function followThrough(
  leader: Awaited<ReturnType<typeof fakeLeader>>,
  switches: Record<number, Mode>,
): Promise<{ run: Awaited<ReturnType<typeof followWorkflow>>; said: string[] }> {
  const clock = new ManualClock();
  const said: string[] = [];
  const follow = followWorkflow(leader.url, 'wf-1', {
    clock,
    pollMs: 500,
    giveUpAfterMs: 120_000,
    onSilent: (cause, giveUp) => said.push(`silent: ${cause.message} (${giveUp} ms)`),
    onBack: (ms) => said.push(`back after ${ms} ms`),
  });
  let polls = 0;
  await stepUntil(clock, follow, 500, () => {
    const next = switches[++polls];
    if (next) leader.set(next);
  });
  return { run: await follow, said };
}

t.test(
  'a leader that stops answering is said once, and its return too; the follow goes on to the end',
  async (t) => {
    const { run, said } = await followThrough(await fakeLeader(t), {
      2: 'down',
      12: 'running',
      14: 'succeeded',
    });
    t.equal(run.status, 'succeeded', 'the follow ends with the run as the leader has it');
    t.equal(said.length, 2, `said once when it went silent and once when it came back: ${said.join(' | ')}`);
    t.match(
      said[0],
      /^silent: .+ \(120000 ms\)$/,
      'the silence names the cause and how long the client waits',
    );
    t.equal(said[1], 'back after 5500 ms', 'the return says how long the leader was silent');
  },
);

t.test('a leader silent past giveUpAfterMs ends the follow with one line saying how long', async (t) => {
  const leader = await fakeLeader(t);
  leader.set('down');
  const clock = new ManualClock();
  let silences = 0;
  const follow = followWorkflow(leader.url, 'wf-1', {
    clock,
    pollMs: 1_000,
    giveUpAfterMs: 10_000,
    onSilent: () => silences++,
  });
  await stepUntil(clock, follow, 1_000, () => {});
  const err = await follow.catch((e: unknown) => e);
  t.type(err, LeaderUnreachableError);
  t.match(err, {
    code: 'LEADER_UNREACHABLE',
    disposition: 'user',
    message:
      /^--leader http:\/\/127\.0\.0\.1:\d+: the leader has not answered for 11 s \(.+\); the workflow may still be running there$/,
  });
  t.equal(silences, 1, 'the silence was said once, not at every poll');
});

t.test(
  'a leader that answers an error (HTTP 500) for a while is waited for as a silent one: the run is not taken for ended',
  async (t) => {
    // The error body has no status: read as the run, it ended the follow, and `toil run --leader`
    // said "workflow failed on the leader: no reason given" and exited 1 while the run went on.
    const { run, said } = await followThrough(await fakeLeader(t), { 1: 'failing', 4: 'succeeded' });
    t.equal(run.status, 'succeeded', 'the follow ends with the run as the leader has it');
    t.same(
      said,
      [
        'silent: HTTP 500: GET /workflows/wf-1: the leader failed to answer (its log says why) (120000 ms)',
        'back after 2000 ms',
      ],
      'the error is said once, with what the leader answered, and its end',
    );
  },
);
