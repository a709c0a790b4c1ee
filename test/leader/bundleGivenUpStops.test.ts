import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { bundleSubmittedWorkflow } from '../../src/leader/workflowFileAccess.js';
import { bundleWorkflowInChild } from '../../src/workflow/bundleInChild.js';
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

/** The live processes descended from this one, by pid, with their argv[0]. */
function descendants(): Map<number, string> {
  const parentOf = new Map<number, number>();
  const argv0 = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      parentOf.set(Number(name), Number(fields[1]));
      argv0.set(Number(name), readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0] ?? '');
    } catch {
      // Gone meanwhile.
    }
  }
  const mine = new Map<number, string>();
  for (const [pid, cmd] of argv0) {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p))
      if (p === process.pid) {
        mine.set(pid, cmd);
        break;
      }
  }
  return mine;
}

/** The live processes descended from this one whose executable is esbuild's. */
const esbuildDescendants = (): number[] =>
  [...descendants()].filter(([, cmd]) => /(^|\/)esbuild$/.test(cmd)).map(([pid]) => pid);

/**
 * The threads of this process's descendants blocked opening a FIFO that has no writer (the
 * kernel's wait_for_partner), seen without opening the FIFO: a probe that opened it for writing
 * would let the waiting open through.
 */
function threadsWaitingOnFifo(): string[] {
  const waiting: string[] = [];
  for (const pid of descendants().keys()) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`))
        if (readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8') === 'wait_for_partner')
          waiting.push(`${pid}/${tid}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return waiting;
}

/** Whether any process has `fifo` open (or is opening it) for reading; opening it lets such an open through. */
function someoneReads(fifo: string): boolean {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw e;
  }
}

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
