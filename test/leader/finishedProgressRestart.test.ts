import { join } from 'node:path';
import t from 'tap';
import type { WorkflowRun } from '../../src/leader/daemon.js';
import { STATE_DAEMON_TOKEN, STATE_DAEMON_WORKFLOW, daemonOnState } from '../fixtures/stateDaemon.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A run that finished before the leader restarted shows, after the restart, the progress it
 * showed before (jobs done of known, failed): its record was on disk, but the restarted leader's
 * /status, status page and GET /workflows/:id showed it with no progress at all.
 */
type Shown = WorkflowRun & { progress?: unknown };

async function shown(url: string, id: string): Promise<{ one: Shown; listed: Shown | undefined }> {
  const one = (await (await fetch(`${url}/workflows/${id}`)).json()) as Shown;
  const status = (await (await fetch(`${url}/status`)).json()) as { workflows: Shown[] };
  return { one, listed: status.workflows.find((w) => w.id === id) };
}

t.test('a finished run shows the same progress after the leader restarts', async (t) => {
  const dir = testDir(t);
  const stateDir = join(dir, 'state');
  const first = await daemonOnState(t, stateDir);
  const submit = async (jobStore: string): Promise<string> => {
    const r = await fetch(`${first.url}/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${STATE_DAEMON_TOKEN}` },
      body: JSON.stringify({ workflowFile: STATE_DAEMON_WORKFLOW, jobStore: `file:${join(dir, jobStore)}` }),
    });
    t.equal(r.status, 202, `${jobStore} taken`);
    return ((await r.json()) as WorkflowRun).id;
  };
  const ok = await submit('ok');
  const bad = await submit('bad');
  await waitFor('both runs started', () => first.runs.length === 2);
  const [okRun, badRun] = first.runs;
  okRun!.progress({ known: 23, completed: 21, running: 2, failed: 0 });
  okRun!.progress({ known: 23, completed: 23, running: 0, failed: 0 });
  okRun!.end({ status: 'succeeded', jobsRun: 23 });
  badRun!.progress({ known: 9, completed: 5, running: 3, failed: 1, held: 2 });
  badRun!.end({ status: 'failed', jobsRun: 5, message: 'a job failed' });
  await waitFor('both runs finished', () =>
    [ok, bad].every((id) => first.daemon.workflow(id)?.status !== 'running'),
  );
  const before = { ok: await shown(first.url, ok), bad: await shown(first.url, bad) };
  t.same(before.ok.one.progress, { known: 23, completed: 23, running: 0, failed: 0 }, 'before: 23/23');
  t.same(
    before.bad.one.progress,
    { known: 9, completed: 5, running: 0, failed: 1, held: 2 },
    'before: 5/9, 1 failed, none running',
  );
  await first.daemon.stop();

  const second = await daemonOnState(t, stateDir);
  for (const [name, id] of [
    ['succeeded', ok],
    ['failed', bad],
  ] as const) {
    const after = await shown(second.url, id);
    const was = before[name === 'succeeded' ? 'ok' : 'bad'];
    t.same(after.one.progress, was.one.progress, `${name}: GET /workflows/:id shows the progress it showed`);
    t.same(after.listed?.progress, was.listed?.progress, `${name}: /status (the page) shows it too`);
    t.equal(after.one.status, name);
  }
  t.same(second.runs, [], 'nothing resumed');
});
