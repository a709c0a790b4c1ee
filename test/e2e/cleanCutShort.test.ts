import { existsSync, mkdirSync, readFileSync, readdirSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil, startToil } from '../fixtures/workflowCli.js';

const TREE = repoPath('test/fixtures/workflowTree.ts');
/** Enough objects that deleting them takes a while: the kill lands in the middle of it. */
const OBJECTS = 20_000;

t.setTimeout(120_000);

/** A job store holding OBJECTS files, as a long workflow kept with --clean never leaves one. */
async function bigStore(path: string): Promise<void> {
  await new FileObjectStore(path).create();
  const jobs = join(path, 'objects', 'jobs%');
  mkdirSync(jobs);
  for (let i = 0; i < OBJECTS; i++) writeFileSync(join(jobs, `job-${i}`), 'x');
}

/** Starts `toil clean PATH` and resolves once it has begun deleting (the store's marker is gone). */
async function cleanDeleting(path: string): Promise<ReturnType<typeof startToil>> {
  const clean = startToil(['clean', `file:${path}`]);
  const marker = join(path, '.toil-jobstore');
  // The caller's signal must follow the marker's going at once. Told by inotify, not polled: a
  // loop that never yields held a core for the second the clean took to start (8 s of CPU here).
  await new Promise<void>((resolve) => {
    const watcher = watch(path, () => {
      if (!existsSync(marker)) done();
    });
    const deadline = setTimeout(done, 60_000);
    function done(): void {
      watcher.close();
      clearTimeout(deadline);
      resolve();
    }
    if (!existsSync(marker)) done();
  });
  return clean;
}

/** Entries left under the store's path (0 once it is gone). */
/** Resolves once every thread of `pid` is stopped (state T in /proc), within 10 s. */
async function allThreadsStopped(pid: number): Promise<void> {
  const stopped = (): boolean =>
    readdirSync(`/proc/${pid}/task`).every((tid) => {
      // The state follows the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
    });
  for (const deadline = Date.now() + 10_000; !stopped();) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop within 10 s of SIGSTOP`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function entriesLeft(path: string): number {
  return existsSync(path) ? readdirSync(path, { recursive: true }).length : 0;
}

/** Starts `toil clean PATH` and kills it (-9) once it has begun deleting: what Ctrl-C or a lost shell does. */
async function cleanKilledMidway(t: Test, path: string): Promise<void> {
  const { child, done } = await cleanDeleting(path);
  child.kill('SIGKILL');
  const r = await done;
  t.equal(r.signal, 'SIGKILL', 'the clean was killed, not finished');
  const left = existsSync(join(path, 'objects')) ? entriesLeft(path) : 0;
  t.ok(left > 0, `the kill left part of the store (${left} entries)`);
}

t.test(
  'a toil clean cut short: toil status says so and how to finish it, and the next toil clean leaves nothing of the store',
  async (t) => {
    const path = join(testDir(t), 'js');
    await bigStore(path);
    await cleanKilledMidway(t, path);

    const status = await runToil(['status', `file:${path}`]);
    t.equal(status.code, 2, 'what is left is no job store');
    t.equal(
      status.stderr,
      `toil: job store file:${path} does not exist: a deletion of it was cut short and left part of it; 'toil clean file:${path}' finishes deleting it, as does a 'toil run' of a new workflow on it\n`,
    );

    const again = await runToil(['clean', `file:${path}`]);
    t.equal(again.code, 0, again.stderr);
    t.match(
      again.stdout,
      /^deleted what was left of job store file:\S+ \(a deletion of it was cut short\)$/m,
    );
    t.equal(existsSync(path), false, 'the directory is gone');
  },
);

t.test(
  'toil run on the remains of a toil clean cut short finishes the deletion and runs there',
  async (t) => {
    const dir = testDir(t);
    const path = join(dir, 'js');
    await bigStore(path);
    await cleanKilledMidway(t, path);

    const run = await runToil(
      ['run', TREE, `file:${path}`, '--out', 'out.json', '--log', 'exec.log', '--clean', 'never'],
      { cwd: dir },
    );
    t.equal(run.code, 0, run.stderr);
    t.match(run.stderr, /workflow succeeded/);
    t.equal(
      existsSync(join(path, 'objects', 'jobs%', 'job-0')),
      false,
      "none of the old store's objects is left",
    );
  },
);

t.test(
  'a deletion underway is not one cut short: status, a second clean and a new run on the store are refused naming its deleter, and the deletion ends whole',
  async (t) => {
    const dir = testDir(t);
    const path = join(dir, 'js');
    await bigStore(path);
    const deleting = await cleanDeleting(path);
    // Stopped, not killed: alive and deleting as far as any other command can tell, for as long
    // as the checks below take (a `toil run --clean onSuccess` deleting a big store is the same).
    deleting.child.kill('SIGSTOP');
    // An unlink already in the kernel when the signal comes still ends: counted once every thread
    // of the deleter is seen stopped, not as kill() returns.
    await allThreadsStopped(deleting.child.pid!);
    const before = entriesLeft(path);
    const refusal = new RegExp(
      `^toil: job store file:${path} is being deleted by process ${deleting.child.pid} on \\S+ since \\S+Z \\(expected no other command on it while it goes: wait for that deletion to end, then run again\\)\n$`,
    );
    try {
      const status = await runToil(['status', `file:${path}`]);
      t.equal(status.code, 2, 'status: a user error');
      t.match(status.stderr, refusal, 'status names the deleter, not a deletion cut short');
      const clean = await runToil(['clean', `file:${path}`]);
      t.equal(clean.code, 2, 'a second clean is refused');
      t.match(clean.stderr, refusal);
      const run = await runToil(
        ['run', TREE, `file:${path}`, '--out', 'out.json', '--log', 'exec.log', '--clean', 'never'],
        { cwd: dir },
      );
      t.equal(run.code, 2, 'a new run there is refused');
      t.match(run.stderr, refusal);
      t.equal(entriesLeft(path), before, 'none of them deleted or made anything there');
    } finally {
      deleting.child.kill('SIGCONT');
    }
    const r = await deleting.done;
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, `deleted job store file:${path}\n`);
    t.equal(existsSync(path), false, 'the directory is gone');
  },
);
