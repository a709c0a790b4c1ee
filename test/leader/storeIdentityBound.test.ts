import { mkdirSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A submission whose job store's file system does not answer (a hung mount, here a realpath that
 * never settles) is refused once the bound passes, naming the store; while it waits, the daemon
 * answers its other routes and takes a submission on a store that answers.
 */
const catalogue = await readCatalogue();
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
const BOUND_MS = 1_000;

t.test(
  'a job store whose file system does not answer is refused after the bound; the daemon keeps serving meanwhile',
  async (t) => {
    const dir = testDir(t);
    const hung = join(dir, 'hung-mount');
    const healthy = join(dir, 'js');
    mkdirSync(healthy);
    const neverAnswers = new Promise<string>(() => {});
    const config = parseLeaderConfigObject(
      {
        http: { port: 0 },
        scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
      },
      catalogue,
    );
    const ran: string[] = [];
    const daemon = new LeaderDaemon({
      ...fakeDaemonDeps(new ManualClock(), config),
      newBatchSystem: () => ({ issuedJobIds: () => new Set<string>() }) as never,
      runWorkflow: (submission, _bs, _progress, signal) =>
        new Promise((_resolve, reject) => {
          ran.push(submission.jobStore);
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        }),
      storeIdentity: {
        realpath: (path) => (path.startsWith(hung) ? neverAnswers : realpath(path)),
        timeoutMs: BOUND_MS,
      },
    });
    const url = await daemon.start();
    t.teardown(() => daemon.stop());
    const post = (jobStore: string): Promise<Response> =>
      fetch(`${url}/workflows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workflowFile: WORKFLOW, jobStore, args: ['well'] }),
      });

    const sentAt = Date.now();
    const refused = post(`file:${hung}`);
    await new Promise((r) => setTimeout(r, 100));
    const health = await fetch(`${url}/healthz`);
    t.equal(health.status, 200, '/healthz answers while the store is being asked');
    const other = await post(`file:${healthy}`);
    t.equal(other.status, 202, 'a submission on a store that answers is taken meanwhile');
    const answeredOthersAfter = Date.now() - sentAt;
    t.ok(answeredOthersAfter < BOUND_MS, `the others answered before the bound (${answeredOthersAfter} ms)`);

    const r = await refused;
    const waited = Date.now() - sentAt;
    t.same(
      [r.status, await r.json()],
      [
        503,
        {
          error:
            `jobStore file:${hung}: its file system did not answer within 1 s ` +
            '(a hung or unreachable mount?); check the mount, then submit again',
        },
      ],
      'refused, naming the store and what did not answer',
    );
    t.ok(waited >= BOUND_MS && waited < BOUND_MS + 2_000, `refused at the bound (${waited} ms)`);
    t.same(ran, [`file:${healthy}`], 'only the store that answered runs');
  },
);
