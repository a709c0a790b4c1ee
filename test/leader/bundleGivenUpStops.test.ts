import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { bundleSubmittedWorkflow } from '../../src/leader/workflowFileAccess.js';
import { bundleWorkflowInChild } from '../../src/workflow/bundleInChild.js';
import { esbuildDescendants, someoneReads, threadsWaitingOnFifo } from '../fixtures/bundleLeftovers.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A submission's bundle given up at its bound stops there: nothing keeps waiting on the file the
 * build was reading, no esbuild process this leader started is left, and a build that was busy
 * does no more work.
 */
const BOUND_MS = 1_000;
/** The busy build's bound: room for its process to start on a loaded machine and get going. */
const BUSY_BOUND_MS = 3_000;
/** How long after the give-up the build has to be gone (a kill and its reaping take milliseconds). */
const GONE_WITHIN_MS = 2_000;

t.test('a bundle given up on a file that never yields its bytes leaves nothing reading it', async (t) => {
  const dir = testDir(t);
  // A FIFO nobody writes to: opening it for reading blocks as a read on a hung mount does.
  const fifo = join(dir, 'hung.ts');
  execFileSync('mkfifo', [fifo]);
  // Whatever still waits on it when the test ends is let go, so the test does not hang.
  t.teardown(() => void someoneReads(fifo));
  const workflow = join(dir, 'wf.ts');
  writeFileSync(workflow, "import { value } from './hung.ts';\nexport default value;\n");

  const started = Date.now();
  await t.rejects(bundleSubmittedWorkflow(workflow, { bundleTimeoutMs: BOUND_MS }), {
    code: 'WORKFLOW_FILE_NOT_ANSWERING',
  });
  t.ok(Date.now() - started >= BOUND_MS, 'refused at the bound, not before');
  await waitFor(
    'the build to stop waiting on the hung file',
    () => threadsWaitingOnFifo().length === 0,
    GONE_WITHIN_MS,
  ).catch(() => undefined);
  t.same(
    threadsWaitingOnFifo(),
    [],
    `nothing of this leader waits on the hung file ${GONE_WITHIN_MS} ms after the give-up`,
  );
  await waitFor('esbuild to end', () => esbuildDescendants().length === 0, GONE_WITHIN_MS).catch(
    () => undefined,
  );
  t.same(esbuildDescendants(), [], 'no esbuild process of this leader is left');
});

t.test('a busy bundle given up does no more build work', async (t) => {
  const dir = testDir(t);
  const loads = join(dir, 'loads');
  writeFileSync(loads, '');
  const workflow = join(dir, 'wf.ts');
  writeFileSync(workflow, "import 'endless:0';\n");
  process.env.BUNDLE_LOADS_FILE = loads;
  t.teardown(() => void delete process.env.BUNDLE_LOADS_FILE);
  const childModule = repoPath(
    existsSync(repoPath('dist/test/fixtures/bundleNeverEnds.js'))
      ? 'dist/test/fixtures/bundleNeverEnds.js'
      : 'test/fixtures/bundleNeverEnds.ts',
  );
  const loaded = (): number => statSync(loads).size;

  await t.rejects(
    bundleSubmittedWorkflow(workflow, {
      bundleTimeoutMs: BUSY_BOUND_MS,
      bundle: (path, signal) => bundleWorkflowInChild(path, { signal, childModule }),
    }),
    { code: 'WORKFLOW_FILE_NOT_ANSWERING' },
  );
  const atGiveUp = loaded();
  t.ok(atGiveUp >= 5, `the build was busy until the give-up (${atGiveUp} modules loaded)`);
  // Anything already in flight lands within a load or two; after that the count must stand still.
  await new Promise((r) => setTimeout(r, 200));
  const settled = loaded();
  await new Promise((r) => setTimeout(r, GONE_WITHIN_MS));
  t.equal(loaded(), settled, 'no module is loaded after the give-up');
  t.ok(settled - atGiveUp <= 2, `at most the loads in flight finished after it (${settled - atGiveUp})`);
  t.same(esbuildDescendants(), [], 'no esbuild process of this leader is left');
});
