import { join } from 'node:path';
import t from 'tap';
import type { WorkflowProgress } from '../../src/leader/workflowRunner.js';
import { sleep, startEmbeddedLeader, startToilProcess } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';

/**
 * Jobs held back by --maxJobs are ready but issued to no batch system: the daemon's /status shows
 * them apart (`held`), not among the jobs running or waiting to start, which stay within the cap.
 * They were not shown at all: a run held behind --maxJobs 1 looked like one job running of many.
 */
t.setTimeout(240_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

t.test('/status shows the jobs --maxJobs holds back apart from those issued', async (t) => {
  const dir = testDir(t);
  const { base, env } = await startEmbeddedLeader(t, dir);
  const client = startToilProcess(
    [
      'run',
      TREE,
      `file:${dir}/js`,
      ...['--n', '4', '--sleepMs', '300', '--out', join(dir, 'out'), '--log', join(dir, 'exec.log')],
      ...['--maxJobs', '1', '--leader', base],
    ],
    { cwd: dir, env },
  );
  t.teardown(() => void client.child.kill('SIGKILL'));
  const seen: WorkflowProgress[] = [];
  let finished = false;
  while (!finished) {
    const s = (await (await fetch(`${base}/status`)).json()) as {
      workflows: { status: string; progress?: WorkflowProgress }[];
    };
    const w = s.workflows[0];
    if (w?.progress && w.status === 'running') seen.push(w.progress);
    finished = w !== undefined && w.status !== 'running';
    await sleep(200);
  }
  const r = await client.done;
  t.equal(r.code, 0, `the workflow succeeds\n${r.stderr.slice(-2000)}`);
  const held = seen.filter((p) => (p.held ?? 0) > 0);
  t.ok(held.length > 0, `some samples show held jobs (${seen.length} samples)`);
  t.ok(
    Math.max(...held.map((p) => p.held!)) >= 2,
    `several leaves held at once (at most ${Math.max(0, ...held.map((p) => p.held!))})`,
  );
  t.same(
    seen.filter((p) => p.running + (p.waiting ?? 0) > 1),
    [],
    'never more than the one --maxJobs slot issued: the held are counted apart',
  );
  t.same(
    seen.filter((p) => p.completed + p.running + (p.waiting ?? 0) + (p.held ?? 0) > p.known),
    [],
    'held jobs are known jobs, not counted twice',
  );
});
