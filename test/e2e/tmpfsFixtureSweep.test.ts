import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { cannotMountTmpfs, markedTmpfsMounts, mountTmpfs, tmpfsSourceOf } from '../fixtures/tmpfs.js';

/**
 * The tmpfs fixture sweeps the mounts a test killed with -9 left (its teardown never ran), before
 * it mounts again: only its own (named for the process that mounted them) whose process is gone,
 * or whose pid another process now has; a mount of a process still running, and any other tmpfs,
 * are left mounted.
 */
const mounted = (dir: string): boolean => spawnSync('mountpoint', ['-q', dir]).status === 0;

function mountWithSource(dir: string, source: string): void {
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', source, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount ${dir}: ${r.stderr}`);
}

t.test(
  "a tmpfs left by a test killed with -9 is unmounted at the next mount; a running test's and others' are not",
  { skip: cannotMountTmpfs() },
  async (t) => {
    const dir = testDir(t);
    const dirs = ['dead', 'reused', 'live', 'foreign', 'next'].map((d) => join(dir, d));
    const [dead, reused, live, foreign, next] = dirs as [string, string, string, string, string];
    t.teardown(() => {
      for (const d of dirs) spawnSync('umount', ['-l', d]);
    });

    // A test process that mounted its tmpfs, then was killed with -9.
    const victim = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    mountWithSource(dead, tmpfsSourceOf(victim.pid!));
    victim.kill('SIGKILL');
    await exited;
    // A mark whose pid is this process's, but which another process of that pid made (it started
    // at another time): the pid was reused.
    mountWithSource(reused, `toil-test-tmpfs:${process.pid}:1`);
    // A test still running (this one) and a tmpfs of someone else's.
    mountWithSource(live, tmpfsSourceOf(process.pid));
    mountWithSource(foreign, 'tmpfs');
    t.same(
      markedTmpfsMounts()
        .map((m) => m.mountPoint)
        .filter((p) => p.startsWith(dir))
        .sort(),
      [dead, live, reused].sort(),
      'the marked mounts are found, the foreign one is not among them',
    );

    mkdirSync(next);
    t.equal(mountTmpfs(next, '64k'), undefined, 'the next mount is made');
    t.notOk(mounted(dead), "the killed test's tmpfs is unmounted");
    t.notOk(mounted(reused), 'the tmpfs of a pid now reused is unmounted');
    t.ok(mounted(live), "a running test's tmpfs is left");
    t.ok(mounted(foreign), 'a tmpfs the fixture did not make is left');
    t.ok(mounted(next), 'and the new one is mounted');
  },
);
