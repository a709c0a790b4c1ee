import { mkdirSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { heldRunsDaemon, refusedAtBoundWhileServing } from '../fixtures/heldRunsDaemon.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A submission whose job store's file system does not answer (a hung mount, here a realpath that
 * never settles) is refused once the bound passes, naming the store; while it waits, the daemon
 * answers its other routes and takes a submission on a store that answers.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
/**
 * The bound: the other submission is answered within it, and that takes a bundle, which runs in a
 * process of its own (a Node start, over a second on a loaded machine).
 */
const BOUND_MS = 3_000;

t.test(
  'a job store whose file system does not answer is refused after the bound; the daemon keeps serving meanwhile',
  async (t) => {
    const dir = testDir(t);
    const hung = join(dir, 'hung-mount');
    const healthy = join(dir, 'js');
    mkdirSync(healthy);
    const neverAnswers = new Promise<string>(() => {});
    const { url, ran } = await heldRunsDaemon(t, {
      storeIdentity: {
        realpath: (path) => (path.startsWith(hung) ? neverAnswers : realpath(path)),
        timeoutMs: BOUND_MS,
      },
    });
    await refusedAtBoundWhileServing(t, {
      url,
      boundMs: BOUND_MS,
      hung: { workflowFile: WORKFLOW, jobStore: `file:${hung}` },
      other: { workflowFile: WORKFLOW, jobStore: `file:${healthy}` },
      error:
        `jobStore file:${hung}: its file system did not answer within 3 s ` +
        '(a hung or unreachable mount?); check the mount, then submit again',
    });
    t.same(
      ran.map((s) => s.jobStore),
      [`file:${healthy}`],
      'only the store that answered runs',
    );
  },
);
