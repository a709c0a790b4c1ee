import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { thisProcess } from '../../src/common/processIdentity.js';
import {
  embeddedLeaderConfig,
  killAndWaitForExit,
  startToilProcess,
  type RunningProcess,
} from '../fixtures/leaderE2e.js';
import { needsSlurm } from '../fixtures/slurmCluster.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A leader daemon with `batchSystem.kind: slurm` runs its own slurmctld, whose state, spool and
 * logs live in a `toil-slurm-` directory of the temp dir. Killed with kill -9, the daemon cannot
 * remove it (its controller dies with it); the next daemon to start on this machine does, and keeps
 * that of a process still running.
 */
// Two daemons, each with a real slurmctld, on a busy two-core machine.
t.setTimeout(240_000);

const slurmDirsIn = (tmp: string): string[] =>
  readdirSync(tmp)
    .filter((n) => n.startsWith('toil-slurm-'))
    .map((n) => join(tmp, n));

/** `toil leader` with an embedded Slurm and its temp dir in `tmp`, up: with its `toil-slurm-` dir. */
async function slurmDaemon(
  t: Test,
  dir: string,
  tmp: string,
  name: string,
): Promise<{ leader: RunningProcess; slurmDir: string }> {
  const before = new Set(slurmDirsIn(tmp));
  const state = join(dir, name);
  mkdirSync(state);
  const cfg = join(state, 'leader.yaml');
  writeFileSync(
    cfg,
    embeddedLeaderConfig(state, [
      ['kind: mesos', 'kind: slurm'],
      ['  mesosMaster: embedded\n', ''],
    ]),
  );
  const leader = startToilProcess(['leader', '--config', cfg], { cwd: state, env: { TMPDIR: tmp } });
  t.teardown(() => killAndWaitForExit(leader.child));
  await leader.waitFor(/status at http:\/\/[0-9.:]+\/status/, 60_000);
  const made = slurmDirsIn(tmp).filter((d) => !before.has(d));
  t.equal(made.length, 1, `${name}: one Slurm directory made`);
  return { leader, slurmDir: made[0]! };
}

t.test(
  'a starting daemon removes the Slurm directory of one killed with kill -9, and keeps that of one still running',
  { skip: needsSlurm() },
  async (t) => {
    const dir = testDir(t, {});
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    // A directory whose maker still runs (this test's process, as a daemon still up would be).
    const running = { slurmDir: join(tmp, 'toil-slurm-running') };
    mkdirSync(running.slurmDir);
    writeFileSync(join(running.slurmDir, 'owner.json'), JSON.stringify(thisProcess()));
    const killed = await slurmDaemon(t, dir, tmp, 'killed');
    t.same(
      JSON.parse(readFileSync(join(killed.slurmDir, 'owner.json'), 'utf8')),
      { ...thisProcess(), pid: killed.leader.child.pid },
      'the directory names the daemon that made it (host, boot, pid namespace, pid)',
    );
    await killAndWaitForExit(killed.leader.child);
    t.ok(existsSync(killed.slurmDir), `kill -9 leaves ${killed.slurmDir}`);

    const next = await slurmDaemon(t, dir, tmp, 'next');
    t.notOk(existsSync(killed.slurmDir), `the next daemon removed ${killed.slurmDir}`);
    t.ok(existsSync(running.slurmDir), `and kept ${running.slurmDir}, whose maker runs`);
    t.match(
      next.leader.output(),
      /removed the Slurm directories of controllers whose process was killed/,
      'the next daemon says what it removed',
    );

    next.leader.child.kill('SIGTERM');
    await next.leader.done;
    t.notOk(existsSync(next.slurmDir), `a daemon stopped by SIGTERM removes its own ${next.slurmDir}`);
    await waitFor(
      'no Slurm directory left but the one whose maker runs',
      () => slurmDirsIn(tmp).join() === running.slurmDir,
      10_000,
    );
  },
);
