import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { JobStoreLeasedError } from '../../src/jobstore/errors.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import type { IssuedJob } from '../../src/ports/batchSystem.js';
import { runWorkflow, type RunWorkflowOptions } from '../../src/leader/runWorkflow.js';
import { REPO_ROOT, runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
const DEFAULTS = { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: false };

/** Holds every job until `open()`: the first leader is mid-run while the second one tries. */
class GatedBatchSystem extends InProcessBatchSystem {
  private gate!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.gate = resolve));
  open(): void {
    this.gate();
  }
  override async issue(job: IssuedJob): Promise<void> {
    await this.opened;
    return super.issue(job);
  }
}

t.test(
  'two leaders through runWorkflow (the daemon runs workflows this way): the second is refused',
  async (t) => {
    const dir = scratchDir(t);
    const store = new JobStore(new FileObjectStore(join(dir, 'js'), 'file:./js'));
    const clock = new ManualClock();
    const base = (bs: InProcessBatchSystem): RunWorkflowOptions => ({
      store,
      workflowFile: TREE,
      args: ['--n', '4', '--out', join(dir, 'out.txt'), '--log', join(dir, 'exec.log')],
      restart: false,
      clean: 'never',
      retryCount: 0,
      defaults: DEFAULTS,
      batchSystem: bs,
      clock,
      log: silentLogger(),
      workerCommand: () => [],
      workDir: dir,
    });
    const gated = new GatedBatchSystem(store, dir);
    const first = runWorkflow(base(gated));
    // Wait until the first leader holds the lease (it takes it right after creating the store).
    while (!(await store.exists()) || (await store.readGeneration()) < 0)
      await new Promise((r) => setTimeout(r, 20));
    const second = await runWorkflow({ ...base(new InProcessBatchSystem(store, dir)), restart: true }).catch(
      (e: unknown) => e,
    );
    t.type(second, JobStoreLeasedError, 'the second leader is refused');
    t.match(second, {
      code: 'JOBSTORE_LEASED',
      message: new RegExp(
        `^job store file:\\./js is in use by the leader on ${hostname()} \\(pid ${process.pid}, generation 0\\) until \\d{4}-`,
      ),
    });
    gated.open();
    const outcome = await first;
    t.equal(outcome.status, 'succeeded', 'the first leader finishes undisturbed');
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8').trim(), '6', 'with the right answer (0+1+2+3)');
    const third = await runWorkflow({ ...base(new InProcessBatchSystem(store, dir)), restart: true });
    t.equal(third.status, 'succeeded', 'once it is done (lease released) the next --restart runs at once');
    t.equal(await store.readGeneration(), 1, 'as generation 1');
  },
);

t.test(
  'two toil run --restart: the second is refused in one line (exit 2); after a kill -9 of the first, --restart takes over at once',
  async (t) => {
    const dir = scratchDir(t);
    const args = ['--n', '8', '--out', 'out.txt', '--log', 'exec.log', '--sleepMs', '1500'];
    const a = startToil(['run', TREE, 'file:./js', ...args, '--clean', 'never'], { cwd: dir });
    const leaderFile = join(dir, 'js', 'objects', 'leader.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(leaderFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    t.ok(existsSync(leaderFile), 'the first leader took the lease');
    const b = await runToil(['run', TREE, 'file:./js', '--restart', ...args], { cwd: dir });
    t.equal(b.code, 2, 'the second leader exits 2');
    const lines = b.stderr.trim().split('\n');
    t.equal(lines.length, 1, `in one line: ${b.stderr}`);
    t.match(
      lines[0],
      new RegExp(
        `^toil: job store file:\\./js is in use by the leader on ${hostname()} \\(pid ${a.child.pid}, generation 0\\) until \\d{4}-\\d\\d-\\d\\dT`,
      ),
    );
    t.notOk(existsSync(join(dir, 'out.txt')), 'and did not run the workflow');
    // Without --restart the store "already exists": said with the leader in it, since neither
    // --restart nor toil clean would do while it runs.
    const fresh = await runToil(['run', TREE, 'file:./js', ...args], { cwd: dir });
    t.equal(fresh.code, 2, 'a new run on the store in use exits 2');
    t.match(
      fresh.stderr.trim(),
      new RegExp(
        `^toil: job store file:\\./js already exists and is in use by the leader on ${hostname()} \\(pid ${a.child.pid}, generation 0\\) \\(expected a new job store\\): name another job store for a second run, or wait for that leader to end`,
      ),
    );
    a.child.kill('SIGKILL');
    await a.done;
    // The killed leader's lease has not expired, but it ran on this machine and its pid is gone.
    const started = Date.now();
    const c = startToil(['run', TREE, 'file:./js', '--restart', ...args], { cwd: dir });
    const generation = (): number => {
      try {
        return (JSON.parse(readFileSync(leaderFile).subarray(99).toString()) as { generation: number })
          .generation;
      } catch {
        return -1; // between writes
      }
    };
    while (generation() < 1 && c.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const tookOver = Date.now() - started;
    t.ok(
      tookOver < 45_000,
      `the new leader took the lease ${tookOver} ms after starting, not after the 60 s expiry`,
    );
    const done = await c.done;
    t.equal(done.code, 0, done.code === 0 ? '--restart after kill -9 succeeds' : done.stderr);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8').trim(), '28', 'with the right answer (0+…+7)');
  },
);

t.test(
  'toil clean refuses a job store whose leader runs (exit 2, the store kept); once that leader is gone it deletes it',
  async (t) => {
    const dir = scratchDir(t);
    const args = ['--n', '4', '--out', 'out.txt', '--log', 'exec.log', '--sleepMs', '60000'];
    const a = startToil(['run', TREE, 'file:./js', ...args], { cwd: dir });
    t.teardown(() => a.child.kill('SIGKILL'));
    const leaderFile = join(dir, 'js', 'objects', 'leader.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(leaderFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    t.ok(existsSync(leaderFile), 'the leader took the lease');
    const refused = await runToil(['clean', 'file:./js'], { cwd: dir });
    t.equal(refused.code, 2, `refused: ${refused.stderr}`);
    t.match(
      refused.stderr.trim(),
      new RegExp(
        `^toil: job store file:\\./js is in use by the leader on ${hostname()} \\(pid ${a.child.pid}, generation 0\\) until .*toil kill file:\\./js`,
      ),
    );
    t.ok(existsSync(leaderFile), 'the store is kept');
    t.equal(a.child.exitCode, null, 'and its leader runs on');
    a.child.kill('SIGKILL');
    await a.done;
    // Killed with -9 on this machine: its lease is provably gone, so clean need not wait for it.
    const cleaned = await runToil(['clean', 'file:./js'], { cwd: dir });
    t.equal(cleaned.code, 0, cleaned.stderr);
    t.notOk(existsSync(join(dir, 'js')), 'deleted');
  },
);
