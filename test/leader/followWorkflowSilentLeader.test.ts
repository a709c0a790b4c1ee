import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { followWorkflow, LeaderUnreachableError } from '../../src/leader/submitClient.js';
import { waitFor } from '../fixtures/waitFor.js';

type Mode = 'running' | 'down' | 'succeeded';
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * A leader's `GET /workflows/:id` on loopback whose answer the test switches: the run as
 * running or succeeded, or `down` (the connection is dropped unanswered, as a killed or
 * restarting leader's port behaves to a client).
 */
async function fakeLeader(t: Test): Promise<{
  url: string;
  set(mode: Mode): void;
}> {
  let mode: Mode = 'running';
  const server: Server = createServer((req, res) => {
    if (mode === 'down') return void req.socket.destroy();
    res.setHeader('content-type', 'application/json');
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

t.test(
  'a leader that stops answering is said once, and its return too; the follow goes on to the end',
  async (t) => {
    const leader = await fakeLeader(t);
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
      polls++;
      if (polls === 2) leader.set('down');
      if (polls === 12) leader.set('running');
      if (polls === 14) leader.set('succeeded');
    });
    const run = await follow;
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
