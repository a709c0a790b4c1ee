import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { embeddedLeaderConfig, killAndWaitForExit, startToilProcess } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

// A daemon that hangs is killed at 60 s; its own start-up on a busy machine takes seconds.
t.setTimeout(120_000);

/**
 * A leader daemon whose `batchSystem.slurmArgs` toil-ts cannot take ends its start at once, exit 2,
 * naming the key (in one line, or as the config's problem): before, it started its embedded slurmctld first, printed the
 * error and then stayed up serving nothing (the controller kept it alive) with the controller's
 * directory left behind.
 */
t.test(
  'a daemon whose batchSystem.slurmArgs is refused exits 2 at once, naming the key, and starts no slurmctld',
  async (t) => {
    const dir = testDir(t, {});
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    // An option toil-ts sets from each job is refused as the config is read (as toil config check
    // refuses it); a node list it cannot read, as the Slurm settings are read, before a controller.
    const rows: [slurmArgs: string, lines: RegExp[]][] = [
      [
        '-x n[3-1]',
        [/^toil: batchSystem\.slurmArgs: -x n\[3-1\]: "3-1" in "n\[3-1\]" is not a range such as 1-3$/],
      ],
      [
        '--mem=4G',
        [
          /^toil: .*leader1\.yaml is invalid:$/,
          /^ {2}- batchSystem\.slurmArgs: --mem=4G: toil-ts asks Slurm for each job's own memory/,
        ],
      ],
    ];
    for (const [i, [slurmArgs, expected]] of rows.entries()) {
      const cfg = join(dir, `leader${i}.yaml`);
      writeFileSync(
        cfg,
        embeddedLeaderConfig(join(dir, `state${i}`), [
          ['kind: mesos', `kind: slurm\n  slurmArgs: ${JSON.stringify(slurmArgs)}`],
          ['  mesosMaster: embedded\n', ''],
        ]),
      );
      const leader = startToilProcess(['leader', '--config', cfg], { cwd: dir, env: { TMPDIR: tmp } });
      t.teardown(() => killAndWaitForExit(leader.child));
      const hung = setTimeout(() => leader.child.kill('SIGKILL'), 60_000);
      const r = await leader.done;
      clearTimeout(hung);
      t.equal(r.code, 2, `${slurmArgs}: exit 2, not left running (${leader.output().slice(-500)})`);
      const lines = leader.output().trim().split('\n');
      t.equal(
        lines.length,
        expected.length,
        `${slurmArgs}: ${expected.length} line(s): ${lines.join(' | ')}`,
      );
      expected.forEach((line, n) =>
        t.match(lines[n], line, `${slurmArgs}: the key and the refusal are named`),
      );
      t.same(
        readdirSync(tmp).filter((n) => n.startsWith('toil-slurm-')),
        [],
        `${slurmArgs}: no slurmctld was started (no controller directory)`,
      );
    }
  },
);
