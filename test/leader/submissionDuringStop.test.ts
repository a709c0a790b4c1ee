import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { LeaderDaemon, type RunStore, type WorkflowRun } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { leaderStateStores } from '../../src/main/leaderState.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';
import { REPO_ROOT } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A submission the leader is still taking (bundling its file, writing its record) when a SIGTERM
 * begins its stop: its answer says what became of it. Refused (503) means nothing of it is on
 * record, so no later start of the leader runs it; taken (202) means the next start runs it. The
 * leader answered 503 while the record it had just written made the next start run the workflow
 * the client was told had been refused.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
const MODULE = new TextEncoder().encode('export default {};\n');

/** A promise and the function that settles it. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = (): void => {};
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

async function leaderOn(stateDir: string, o: { bundle?: () => Promise<Uint8Array>; runStore?: RunStore }) {
  const objects = new FileObjectStore(stateDir);
  await objects.create().catch(() => undefined);
  const stores = leaderStateStores(objects);
  const clock = new ManualClock();
  const config = parseLeaderConfigObject(
    {
      http: { port: 0 },
      scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
    },
    await readCatalogue(),
  );
  const started: string[] = [];
  const daemon = new LeaderDaemon({
    ...fakeDaemonDeps(clock, config),
    runStore: o.runStore ?? stores.runStore,
    historyStore: stores.historyStore,
    tickStore: stores.tickStore,
    workflowFiles: { bundle: o.bundle ?? (async () => MODULE) },
    newBatchSystem: () => ({ issuedJobIds: () => new Set<string>() }) as never,
    runWorkflow: async (_submission, _batch, _progress, signal, id) => {
      started.push(id);
      // Runs until the leader stops it (suspended: kept as running for the next start).
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      throw signal.reason;
    },
  });
  return { daemon, started, runStore: stores.runStore };
}

function submit(url: string, jobStore: string): Promise<Response> {
  return fetch(`${url}/workflows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workflowFile: WORKFLOW, jobStore, args: [] }),
  });
}

t.test(
  'a submission still bundling when the leader stops is refused, and no later start runs it',
  async (t) => {
    const stateDir = join(testDir(t), 'state');
    const bundling = gate();
    const bundled = gate();
    const first = await leaderOn(stateDir, {
      bundle: async () => {
        bundling.open();
        await bundled.opened;
        return MODULE;
      },
    });
    const url = await first.daemon.start();
    const answer = submit(url, `file:${join(stateDir, '..', 'js')}`);
    await bundling.opened;
    const stopping = first.daemon.stop();
    await waitFor('the leader draining', () => first.daemon.state === 'draining');
    bundled.open();
    const r = await answer;
    const body = (await r.json()) as { error?: string };
    t.equal(r.status, 503, 'refused: the leader is stopping');
    t.match(body.error, /the leader is draining; it takes no new workflows/);
    await stopping;
    t.same(await first.runStore.load(), [], 'nothing of the refused submission is on record');

    const second = await leaderOn(stateDir, {});
    await second.daemon.start();
    t.teardown(() => second.daemon.stop());
    t.same(second.started, [], 'the next start runs no workflow');
  },
);

t.test(
  'a submission whose record is being written when the leader stops is taken, and the next start runs it',
  async (t) => {
    const stateDir = join(testDir(t), 'state');
    const objects = new FileObjectStore(stateDir);
    await objects.create();
    const real = leaderStateStores(objects).runStore;
    const writing = gate();
    const written = gate();
    // The write holding the new record waits until the stop has begun.
    const runStore: RunStore = {
      load: () => real.load(),
      saveModule: (id, b) => real.saveModule(id, b),
      loadModule: (id) => real.loadModule(id),
      deleteModule: (id) => real.deleteModule(id),
      save: async (runs) => {
        if (runs.length > 0) {
          writing.open();
          await written.opened;
        }
        await real.save(runs);
      },
    };
    const first = await leaderOn(stateDir, { runStore });
    const url = await first.daemon.start();
    const answer = submit(url, `file:${join(stateDir, '..', 'js')}`);
    await writing.opened;
    const stopping = first.daemon.stop();
    await waitFor('the leader draining', () => first.daemon.state === 'draining');
    written.open();
    const r = await answer;
    const body = (await r.json()) as WorkflowRun & { error?: string };
    t.equal(r.status, 202, `taken: ${body.error ?? 'its record is durable'}`);
    await stopping;
    t.same(first.started, [], 'the stopping leader did not start it');
    const saved = await real.load();
    t.same(
      saved.map((w) => [w.id, w.status]),
      [[body.id, 'running']],
      'its record stays, running, after the stop',
    );
    t.ok(await real.loadModule(body.id), 'its module is kept for the next start');

    const second = await leaderOn(stateDir, {});
    await second.daemon.start();
    t.teardown(() => second.daemon.stop());
    await waitFor('the next start running it', () => second.started.length > 0);
    t.same(second.started, [body.id], 'the next start runs the taken workflow');
  },
);
