import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil, sortedLikeCSort } from '../fixtures/workflowCli.js';

/**
 * A `file:` job store on a file system that fills up while the workflow runs (a real tmpfs of
 * 300 KiB, mounted by the test): the run ends in one line naming the store and ENOSPC, exit 1,
 * not an internal error with toil's stack; the half-written temporary files are removed rather
 * than kept holding the room; and once there is room again, `--restart` finishes the sort.
 */
const SORT = join(REPO_ROOT, 'examples/sort.ts');

t.setTimeout(180_000);

/** Mounts a tmpfs of `size` at `dir`; why not, when this machine does not let us. */
function mountTmpfs(dir: string, size: string): string | undefined {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `cannot mount a tmpfs here (needs root): ${r.stderr || r.error}`;
}

/** Why a tmpfs cannot be mounted here, if it cannot (tried once, on a directory of its own). */
function cannotMount(): string | false {
  const probe = mkdtempSync(join(tmpdir(), 'toil-tmpfs-probe-'));
  const why = mountTmpfs(probe, '64k');
  if (why === undefined) spawnSync('umount', [probe]);
  rmdirSync(probe);
  return why ?? false;
}

t.test(
  'a job store whose disk fills up: one line naming the store and ENOSPC, exit 1, no temp files left, --restart finishes once there is room',
  { skip: cannotMount() },
  async (t) => {
    const dir = testDir(t);
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const why = mountTmpfs(disk, '300k');
    if (why !== undefined) throw new Error(why);
    t.teardown(() => void spawnSync('umount', ['-l', disk]));
    const args = ['run', SORT, `file:${join(disk, 'js')}`, '--numLines', '8000', '--N', '20000'];

    const full = await runToil(args, { cwd: dir });
    t.equal(full.code, 1, `exit 1\n${full.stderr}`);
    t.match(
      full.stderr,
      /job store file:\S+ could not be written: its file system is full \(ENOSPC\) writing (files|jobs|commits)\//,
      'the store, the object and ENOSPC are named',
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
