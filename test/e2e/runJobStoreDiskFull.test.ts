import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { cannotMountTmpfs, mountTmpfs } from '../fixtures/tmpfs.js';
import { waitFor } from '../fixtures/waitFor.js';
import { REPO_ROOT, runToil, sortedLikeCSort, startToil } from '../fixtures/workflowCli.js';

/**
 * A `file:` job store on a file system that fills up while the workflow runs (a real tmpfs of
 * 300 KiB, mounted by the test): the run ends in one line naming the store and ENOSPC, exit 1,
 * not an internal error with toil's stack; the half-written temporary files are removed rather
 * than kept holding the room; and once there is room again, `--restart` finishes the sort.
 */
const SORT = join(REPO_ROOT, 'examples/sort.ts');
const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

t.setTimeout(180_000);

/** A test directory with a tmpfs of `size` at `disk`, and the sort run whose job store is on it. */
function sortOnTmpfs(t: Test, size: string): { dir: string; disk: string; args: string[] } {
  const dir = testDir(t);
  const disk = join(dir, 'disk');
  mkdirSync(disk);
  const why = mountTmpfs(disk, size);
  if (why !== undefined) throw new Error(why);
  t.teardown(() => void spawnSync('umount', ['-l', disk]));
  return { dir, disk, args: ['run', SORT, `file:${join(disk, 'js')}`, '--numLines', '8000', '--N', '20000'] };
}

t.test(
  'a job store whose disk fills up: one line naming the store and ENOSPC, exit 1, no temp files left, --restart finishes once there is room',
  { skip: cannotMountTmpfs() },
  async (t) => {
    const { dir, disk, args } = sortOnTmpfs(t, '300k');

    const full = await runToil(args, { cwd: dir });
    t.equal(full.code, 1, `exit 1\n${full.stderr}`);
    t.match(
      full.stderr,
      /job store file:\S+ could not be written: its file system is full \(ENOSPC\) writing (files|jobs|commits)\//,
      'the store, the object and ENOSPC are named',
    );
    t.match(
      full.stderr,
      /toil: the job store file:\S+ is kept; fix the cause and run again with --restart\n$/,
      'the store is kept: the advice is --restart',
    );
    t.notMatch(full.stderr, /internal error/, 'not reported as a bug of toil');
    t.notMatch(full.stderr, /dist\/src\/|node:internal/, "no frame of toil's own code is shown");
    t.same(
      readdirSync(join(disk, 'js', '.tmp')),
      [],
      'no half-written temporary file is left holding the room',
    );

    t.equal(spawnSync('mount', ['-o', 'remount,size=8m', disk]).status, 0, 'room again');
    const resumed = await runToil([...args, '--restart'], { cwd: dir });
    t.equal(resumed.code, 0, `--restart exits 0\n${resumed.stderr}`);
    t.match(resumed.stderr, /already done before --restart/);
    t.ok(sortedLikeCSort(dir), 'the resumed run sorts the file as LC_ALL=C sort does');
  },
);

t.test(
  "a job store whose disk fills up in the workflow's start(): the store is removed, so the advice is to run the same command again, which works once there is room",
  { skip: cannotMountTmpfs() },
  async (t) => {
    // Too small for the input start() imports (8000 lines, about 300 KiB).
    const { dir, disk, args } = sortOnTmpfs(t, '64k');

    const full = await runToil(args, { cwd: dir });
    t.equal(full.code, 1, `exit 1\n${full.stderr}`);
    t.match(
      full.stderr,
      /job store file:\S+ could not be written: its file system is full \(ENOSPC\) writing files\/\S+\/fileToSort\.txt \(expected room to write: free space there, then run the same command again \(without --restart\): the job store was removed, so the workflow starts anew\)\n$/,
      'the import start() makes is named, and the advice is a plain rerun',
    );
    t.notMatch(full.stderr, /--restart'|resumes from what it committed/, 'no --restart advised');
    t.same(readdirSync(disk), [], 'the job store was removed');

    t.equal(spawnSync('mount', ['-o', 'remount,size=8m', disk]).status, 0, 'room again');
    const again = await runToil(args, { cwd: dir });
    t.equal(again.code, 0, `the same command runs the workflow anew: exit 0\n${again.stderr}`);
    t.ok(sortedLikeCSort(dir), 'and sorts the file as LC_ALL=C sort does');
  },
);

t.test(
  'a job store whose file system turns read-only while a job runs: the job fails naming EROFS, and neither it nor --restart is told to free space',
  { skip: cannotMountTmpfs() },
  async (t) => {
    const dir = testDir(t);
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const why = mountTmpfs(disk, '8m');
    if (why !== undefined) throw new Error(why);
    t.teardown(() => void spawnSync('umount', ['-l', disk]));
    const log = join(dir, 'exec.log');
    const args = ['run', TREE, `file:${join(disk, 'js')}`, '--retryCount', '0', '--sleepMs', '3000'];
    const running = startToil([...args, '--out', 'out.txt', '--log', log], { cwd: dir });
    // The root job has started (its line is in the log, off the tmpfs) and sleeps before its commit.
    await waitFor(
      'the root job to start',
      () => existsSync(log) && /^start tree /m.test(readFileSync(log, 'utf8')),
      60_000,
    );
    t.equal(spawnSync('mount', ['-o', 'remount,ro', disk]).status, 0, 'the disk is read-only');
    const ran = await running.done;
    t.equal(ran.code, 1, `exit 1\n${ran.stderr}`);
    t.match(
      ran.stderr,
      /could not be written: its file system is read-only \(EROFS\) writing commits\/\S+ \(expected a writable file system: remount it read-write, then /,
      "the job's failure names its commit, EROFS and the remount",
    );
    t.notMatch(ran.stderr, /free space|full/, 'no advice to free space on a disk with room');

    const resumed = await runToil([...args, '--restart', '--out', 'out.txt', '--log', log], { cwd: dir });
    t.equal(resumed.code, 1, `--restart on the read-only disk: exit 1\n${resumed.stderr}`);
    t.match(
      resumed.stderr,
      /could not be written: its file system is read-only \(EROFS\) writing \S+ \(expected a writable file system: remount it read-write, then /,
      'the restart names EROFS and the remount',
    );
    t.notMatch(resumed.stderr, /free space|full/, 'no advice to free space');
  },
);
