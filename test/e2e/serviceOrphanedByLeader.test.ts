import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { runWorkflow, type RunWorkflowOptions } from '../../src/leader/runWorkflow.js';
import { waitFor } from '../fixtures/waitFor.js';
import { holdRunOptions } from '../fixtures/servicesRun.js';
import { scratchDir } from '../fixtures/workflowCli.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

t.setTimeout(120_000);

/**
 * A first leader of the `hold` workflow, cancelled once its follow-on waits for `go` (its service
 * and that follow-on run on in this process); returns what the test needs to start the next one.
 */
async function firstLeaderGone(t: { teardown(fn: () => void): void }): Promise<{
  dir: string;
  store: JobStore;
  base: () => RunWorkflowOptions;
  lines: () => string[];
}> {
  const dir = scratchDir(t);
  const cwd = process.cwd();
  process.chdir(dir); // the workflow writes exec.log and reads `go` where it runs
  t.teardown(() => process.chdir(cwd));
  const store = new JobStore(new FileObjectStore(join(dir, 'js'), 'file:./js'));
  const base = (signal?: AbortSignal): RunWorkflowOptions => ({
    ...holdRunOptions(store, dir, new InProcessBatchSystem(store, dir), 100),
    ...(signal ? { signal } : {}),
  });
  const lines = (): string[] =>
    existsSync(join(dir, 'exec.log')) ? readFileSync(join(dir, 'exec.log'), 'utf8').trim().split('\n') : [];
  const cancel = new AbortController();
  const first = runWorkflow(base(cancel.signal));
  await waitFor('the follow-on to wait', () => lines().includes('after waits'), 60_000);
  cancel.abort(new Error('the first leader is gone'));
  await first.catch(() => undefined);
  return { dir, store, base: () => base(), lines };
}

// A batch system whose workers outlive their leader (Mesos, Slurm): here every attempt runs in this
// process and a cancelled leader cannot kill it, so its service would run on for ever, unless it
// notices that a newer leader holds the store.
t.test(
  "a service whose leader is gone stops once a newer leader holds the store, without a commit; the newer leader's own service serves the rest",
  async (t) => {
    const { dir, base, lines } = await firstLeaderGone(t);
    t.same(
      lines().filter((l) => l.startsWith('stop')),
      [],
      "the first leader's service runs on",
    );
    writeFileSync(join(dir, 'go'), '');
    const second = await runWorkflow({ ...base(), restart: true });
    t.equal(second.status, 'succeeded');
    await waitFor(
      'the orphaned service to stop',
      () => lines().filter((l) => l === 'stop a').length === 2,
      10_000,
    );
    t.equal(lines().filter((l) => l === 'start a').length, 2, 'each leader started its own');
  },
);

// A leader gone after the host's last successor committed but before it asked the service to stop
// (here its orphaned follow-on commits once `go` appears, after its leader was cancelled): the next
// leader starts the service again, replays the successors' commits, and must then stop it. It
// waited for ever: the stop was queued by the replay and never sent.
t.test(
  'a restart whose host’s successors all committed before it starts the service again only to stop it',
  async (t) => {
    const { dir, store, base, lines } = await firstLeaderGone(t);
    writeFileSync(join(dir, 'go'), '');
    await waitFor(
      'the orphaned follow-on to commit',
      async () => (await store.readAllCommits()).size === 3,
      30_000,
    );
    let timer: NodeJS.Timeout | undefined;
    const second = await Promise.race([
      runWorkflow({ ...base(), restart: true }).then((r) => r.status),
      new Promise<string>(
        (resolve) => (timer = setTimeout(() => resolve('still running after 30 s'), 30_000)),
      ),
    ]);
    clearTimeout(timer);
    t.equal(second, 'succeeded', 'the restarted leader stops the service and finishes');
    t.equal(lines().filter((l) => l === 'start a').length, 2, 'the service was started again');
  },
);
