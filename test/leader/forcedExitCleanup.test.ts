import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { forcedExitCleanup, onForcedExitRemoval } from '../../src/common/forcedExit.js';
import { silentLogger } from '../../src/common/log.js';
import { processAlive, thisProcess } from '../../src/common/processIdentity.js';
import { makeRunScratch, removeRunScratchNow } from '../../src/leader/runScratch.js';
import { SingleMachineBatchSystem } from '../../src/leader/singleMachine.js';
import { JOB_DIR_PREFIX, JOB_SCRATCH_DIR } from '../../src/workflow/workDirLayout.js';
import { waitFor } from '../fixtures/waitFor.js';

function workDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'toil-forced-exit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A job's scratch directory under `work`, marked as made by process `pid` (as a worker marks its own). */
function jobDirOf(work: string, pid: number, name: string): string {
  const dir = join(work, JOB_SCRATCH_DIR, `${JOB_DIR_PREFIX}${name}`);
  mkdirSync(join(dir, 'd-1'), { recursive: true });
  writeFileSync(join(dir, 'd-1', 'part'), 'x'.repeat(4096));
  writeFileSync(join(dir, 'owner.json'), JSON.stringify({ ...thisProcess(), pid }));
  return dir;
}

t.test(
  "a forced exit kills the single machine's running workers, then removes their jobs' scratch and the leader's",
  async (t) => {
    const work = workDir(t);
    const bs = new SingleMachineBatchSystem({
      maxCores: 2,
      maxMemory: 2 ** 30,
      maxDisk: 2 ** 30,
      clock: new RealClock(),
      log: silentLogger(),
    });
    await bs.start(() => undefined);
    t.teardown(() => bs.shutdown());
    await bs.issue({
      jobId: 'j',
      attempt: 1,
      name: 'sleeper',
      requirements: { cores: 1, memory: 2 ** 20, disk: 1, preemptable: false },
      command: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'],
      jobStoreLocator: 'file:/nowhere',
    });
    const worker = Number(bs.runningJobs()[0]?.batchJobId);
    t.ok(processAlive(worker), `the worker runs (${worker})`);
    const jobDir = jobDirOf(work, worker, 'running');
    const scratch = await makeRunScratch(work);
    const off = onForcedExitRemoval((deadline, killed) =>
      removeRunScratchNow(work, scratch, [], deadline, killed),
    );
    t.teardown(off);

    const { killed, left } = forcedExitCleanup();
    t.equal(killed, 1, 'the one running worker killed');
    t.notOk(processAlive(worker), 'it ended before the files were removed');
    t.same(left, [], 'nothing left');
    t.notOk(existsSync(jobDir), "its job's scratch removed");
    t.notOk(existsSync(scratch), "the leader's scratch removed");
    t.same(readdirSync(work), [], 'the work directory as it was');
  },
);

t.test(
  'a job scratch whose killed worker did not end is left, and said with where it is; another run’s is kept',
  async (t) => {
    const work = workDir(t);
    const spawnSleeper = () => {
      const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      t.teardown(() => p.kill('SIGKILL'));
      return p.pid!;
    };
    // Alive, though killed: as a worker that has not ended when the forced exit's time is up.
    const stuck = spawnSleeper();
    const other = spawnSleeper();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    await waitFor('the ended worker to be reaped', () => !processAlive(gone.pid!), 5_000);
    const stuckDir = jobDirOf(work, stuck, 'stuck');
    const otherDir = jobDirOf(work, other, 'other');
    const goneDir = jobDirOf(work, gone.pid!, 'gone');
    const scratch = await makeRunScratch(work);

    const left = removeRunScratchNow(work, scratch, [], Date.now() + 2_000, new Set([stuck, gone.pid!]));
    t.same(
      left,
      [
        `the scratch of 1 job(s) whose worker had not ended, in ${join(work, JOB_SCRATCH_DIR)}: ${JOB_DIR_PREFIX}stuck`,
      ],
      'the one left said, with where',
    );
    t.ok(existsSync(stuckDir), 'left: its worker runs');
    t.ok(existsSync(otherDir), "another run's job, whose worker runs, kept and not said");
    t.notOk(existsSync(goneDir), 'the ended worker’s removed');
    t.notOk(existsSync(scratch), "the leader's scratch removed");
  },
);
