import { closeSync, constants, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { examineWorkflowFile, type WorkflowFileAccess } from '../../src/leader/workflowFileAccess.js';
import { heldRunsDaemon, refusedAtBoundWhileServing } from '../fixtures/heldRunsDaemon.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A submission whose workflow file's file system does not answer (a hung mount: a stat that never
 * settles, or a file it imports that never yields its bytes) is refused once the bound passes,
 * naming the file; while it waits, the daemon answers /healthz and takes a submission whose files
 * answer.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
/**
 * The bound: the other submission is answered within it, and that takes a bundle, which runs in a
 * process of its own (a Node start, over a second on a loaded machine).
 */
const BOUND_MS = 3_000;

/** Submits `hungWorkflow` while the daemon serves others (refusedAtBoundWhileServing); only the others run. */
async function refusedWhileServing(
  t: Test,
  dir: string,
  workflowFiles: WorkflowFileAccess,
  hungWorkflow: string,
  error: string,
): Promise<void> {
  for (const js of ['js-hung', 'js-other']) mkdirSync(join(dir, js));
  const { url, ran } = await heldRunsDaemon(t, { workflowFiles });
  await refusedAtBoundWhileServing(t, {
    url,
    boundMs: BOUND_MS,
    hung: { workflowFile: hungWorkflow, jobStore: `file:${join(dir, 'js-hung')}` },
    other: { workflowFile: WORKFLOW, jobStore: `file:${join(dir, 'js-other')}` },
    error,
  });
  t.same(
    ran.map((s) => s.workflowFile),
    [WORKFLOW],
    'only the workflow whose files answered runs',
  );
}

t.test('a workflow file whose file system does not answer its stat is refused after the bound', async (t) => {
  const dir = testDir(t);
  const hung = join(dir, 'hung-mount');
  const neverAnswers = new Promise<never>(() => {});
  const hungWorkflow = join(hung, 'wf.ts');
  await refusedWhileServing(
    t,
    dir,
    {
      examine: (path) => (path.startsWith(hung) ? neverAnswers : examineWorkflowFile(path)),
      timeoutMs: BOUND_MS,
    },
    hungWorkflow,
    `workflowFile ${hungWorkflow}: its file system did not answer within 3 s ` +
      '(a hung or unreachable mount?); check the mount, then submit again',
  );
});

t.test(
  'a workflow importing a file that never yields its bytes is refused after the bundle bound',
  async (t) => {
    const dir = testDir(t);
    // A FIFO nobody writes to: opening it for reading blocks as a read on a hung mount does.
    const fifo = join(dir, 'hung.ts');
    execFileSync('mkfifo', [fifo]);
    // The bundler is left blocked on it: a writer that opens and closes it lets it finish.
    t.teardown(() => {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // Nobody has it open for reading (ENXIO): nothing waits on it.
      }
    });
    const hungWorkflow = join(dir, 'wf.ts');
    writeFileSync(hungWorkflow, "import { value } from './hung.ts';\nexport default value;\n");
    await refusedWhileServing(
      t,
      dir,
      { bundleTimeoutMs: BOUND_MS },
      hungWorkflow,
      `workflowFile ${hungWorkflow}: bundling it, its file system or that of a file it imports did not ` +
        'answer within 3 s (a hung or unreachable mount?); check the mount, then submit again',
    );
  },
);
