import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../fixtures/waitFor.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { SCRATCH_PREFIX } from '../../src/leader/runScratch.js';
import { REPO_ROOT, parseExecutions, runToil, startToil } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
const N = 48; // 95 tree jobs + 47 follow-ons
const JOBS = 3 * N - 2;

function bundleScratch(workDir: string): string[] {
  return readdirSync(workDir).filter((n) => n.startsWith(SCRATCH_PREFIX));
}

async function committedJobIds(path: string): Promise<Set<string>> {
  const store = new JobStore(new FileObjectStore(path));
  return new Set((await store.readAllCommits()).keys());
}

for (const round of [1, 2]) {
  t.test(
    `kill -9 of toil run at a random moment, then --restart: no completed job runs again, none is lost, no scratch is left (round ${round})`,
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'toil-restart-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const log = join(dir, 'exec.log');
      const out = join(dir, 'sum.txt');
      const scratch = join(dir, 'scratch');
      mkdirSync(scratch);
      const args = [
        'run',
        TREE,
        'file:./js',
        '--n',
        String(N),
        '--out',
        out,
        '--log',
        log,
        // Long enough (142 jobs, 4 at a time: about 2 s) that the kill, within 1.2 s of the
        // first jobs, lands before every job has committed and the leader removed its scratch.
        '--sleepMs',
        '50',
        '--clean',
        'never',
        '--workDir',
        scratch,
      ];
      const first = startToil(args, { cwd: dir });
      await waitFor(
        'the first jobs in the log',
        () => existsSync(log) && readFileSync(log, 'utf8').split('\n').length > 3,
        30_000,
      );
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1200)));
      first.child.kill('SIGKILL');
      const killed = await first.done;
      t.equal(killed.signal, 'SIGKILL', 'the leader was killed');
      // Its workers notice the leader is gone and exit without committing.
      await new Promise((r) => setTimeout(r, 300));
      const committedAtKill = await committedJobIds(join(dir, 'js'));
      const startsAtKill = parseExecutions(readFileSync(log, 'utf8')).filter((e) => e.kind === 'start');
      t.ok(committedAtKill.size < JOBS, `killed before the end (${committedAtKill.size} jobs committed)`);

      const leftByKill = bundleScratch(scratch);
      t.equal(leftByKill.length, 1, 'the killed leader could not remove its scratch');

      const again = await runToil([...args, '--restart'], { cwd: dir });
      t.equal(again.code, 0, again.code === 0 ? 'exit 0' : again.stderr);
      t.same(bundleScratch(scratch), [], "the next leader removed the killed one's scratch, then its own");
      t.equal(
        readFileSync(out, 'utf8').trim(),
        String((N * (N - 1)) / 2),
        'the result counts every leaf once',
      );

      const starts = parseExecutions(readFileSync(log, 'utf8')).filter((e) => e.kind === 'start');
      const runs = new Map<string, number>();
      for (const s of starts) runs.set(s.jobId, (runs.get(s.jobId) ?? 0) + 1);
      const rerunCompleted = [...committedAtKill].filter((id) => (runs.get(id) ?? 0) !== 1);
      t.same(rerunCompleted, [], 'every job committed before the kill ran exactly once');
      const finalCommitted = await committedJobIds(join(dir, 'js'));
      t.equal(finalCommitted.size, JOBS, 'every job of the workflow committed');
      const neverRan = [...finalCommitted].filter((id) => !runs.has(id));
      t.same(neverRan, [], 'none lost');
      const extraRuns = [...runs.values()].filter((n) => n > 1).length;
      t.ok(extraRuns <= 4, `only jobs in flight at the kill ran twice (${extraRuns}; at most 4 run at once)`);
      t.ok(startsAtKill.length > 0);
      t.match(again.stderr, /already done before --restart/);
    },
  );
}
