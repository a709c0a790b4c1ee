import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, scratchDir, runToil } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

t.test(
  "Toil's toil status and toil stats flags on a failed store, then on the same store finished",
  async (t) => {
    const dir = scratchDir(t);
    // workflowTree with n = 2: jobs tree, tree, tree and add.
    const tree = [
      'run',
      TREE,
      'file:./js',
      ...['--n', '2', '--out', join(dir, 'o'), '--log', join(dir, 'x.log')],
    ];
    const failed = await runToil([...tree, '--fail', 'add', '--failTimes', '1', '--retryCount', '0'], {
      cwd: dir,
    });
    t.equal(failed.code, 1, 'the workflow failed');

    const unfinished = await runToil(
      ['status', 'file:./js', '--failIfNotComplete', '--printLogs', '--failed'],
      {
        cwd: dir,
      },
    );
    t.equal(unfinished.code, 1, '--failIfNotComplete: exit 1, the workflow is not finished');
    t.match(
      unfinished.stdout,
      /^=== log of job add \([0-9a-f-]+\), attempt 1 ===\nerror: .*add was told to fail/m,
    );
    t.match(unfinished.stdout, /^Failed jobs:\nadd \([0-9a-f-]+\): Error: add was told to fail/m);
    t.match(unfinished.stdout, /^state: +failed/m, 'the summary follows');
    const onlyLogs = await runToil(['status', 'file:./js', '--logs', '--noAggStats'], { cwd: dir });
    t.equal(onlyLogs.code, 0, 'without --failIfNotComplete an intact store is exit 0');
    t.notMatch(onlyLogs.stdout, /^state:/m, '--noAggStats: no summary');
    t.match(onlyLogs.stdout, /^=== log of job add/m);
    const failedStats = await runToil(['stats', 'file:./js'], { cwd: dir });
    t.equal(failedStats.code, 0, failedStats.stderr);
    t.match(
      failedStats.stdout,
      /^failed: +1 attempt\(s\) \(add 1\), not in the table; toil status --printLogs shows why$/m,
      'stats counts the attempt that failed, which commits nothing, and says where its error is',
    );
    const failedRaw = JSON.parse((await runToil(['stats', 'file:./js', '--raw'], { cwd: dir })).stdout) as {
      failedAttempts: number;
      failedByName: unknown;
    };
    t.equal(failedRaw.failedAttempts, 1);
    t.same(failedRaw.failedByName, [{ name: 'add', attempts: 1 }]);

    const finished = await runToil([...tree, '--restart', '--clean', 'never'], { cwd: dir });
    t.equal(finished.code, 0, finished.stderr);
    const complete = await runToil(['status', 'file:./js', '--failIfNotComplete', '--logDebug', '--failed'], {
      cwd: dir,
    });
    t.equal(complete.code, 0, '--failIfNotComplete: exit 0 once the workflow has finished');
    t.match(complete.stdout, /^state: +finished$/m);
    t.match(complete.stdout, /^Failed jobs: none$/m, '--failed with none failed says so, not a bare heading');
    t.match(
      complete.stderr,
      /^toil: --logDebug has no effect here: toil status writes no log, only its report$/m,
    );

    const report = join(dir, 'report.txt');
    const stats = await runToil(['stats', 'file:./js', '--outputFile', report], { cwd: dir });
    t.equal(stats.code, 0, stats.stderr);
    t.match(readFileSync(report, 'utf8'), /^jobs: +4 run/m, 'the report is in the file');
    t.match(
      stats.stdout,
      /^job +count +real time s +CPU time core·s +memory MiB$/m,
      "its columns carry Toil's titles, which --sortCategory time and clock name (not 'clock s' for the wall time)",
    );
    t.equal(stats.stdout, readFileSync(report, 'utf8'), 'and on the screen, as in Toil');
    const ascending = await runToil(
      ['stats', 'file:./js', '--sortCategory', 'count', '--sort', 'ascending', '--human'],
      {
        cwd: dir,
      },
    );
    t.equal(ascending.code, 0, ascending.stderr);
    t.match(ascending.stdout, /^add +1 [^]*^tree +3 /m, '--sort ascending: fewest first');
    t.match(ascending.stderr, /^toil: --human has no effect here: /m);
  },
);

t.test('toil stats refuses a --categories Toil refuses, before reading the job store', async (t) => {
  const dir = scratchDir(t);
  const bogus = await runToil(['stats', 'file:./absent', '--categories', 'time,cpu'], { cwd: dir });
  t.equal(bogus.code, 2);
  t.equal(
    bogus.stderr,
    'toil: --categories time,cpu: expected a comma-separated list of time, clock, wait, memory, disk\n',
  );
  // Toil's own spellings pass its check (blanks, any case) and reach the store.
  const toils = await runToil(['stats', 'file:./absent', '--categories', 'time, Memory,disk'], { cwd: dir });
  t.match(toils.stderr, /^toil: --categories has no effect here: /m);
  t.match(toils.stderr, /job store file:\.\/absent does not exist/);
});

t.test(
  "toil stats --sortCategory wait or disk, Toil's, is refused as not measured, not as a typo",
  async (t) => {
    const dir = scratchDir(t);
    for (const [category, what] of [
      ['wait', "a job's CPU wait"],
      ['disk', "a job's disk use"],
    ] as const) {
      const r = await runToil(['stats', 'file:./absent', '--sortCategory', category], { cwd: dir });
      t.equal(r.code, 2);
      t.match(
        r.stderr,
        new RegExp(
          `^toil: --sortCategory ${category}: toil-ts does not measure ${what}[^;\\n]*; expected one of time, clock, memory, alpha, count\\n$`,
        ),
      );
    }
  },
);

/** `toil stats --raw` of a job store: what the checks below read of it. */
interface RawStats {
  timeSeconds: number;
  cpuSeconds: number;
  byName: { name: string; time: { min: number }; clock?: { max: number } }[];
}

t.test(
  "toil stats --raw names the measures as Toil's does: time is the wall time, clock the CPU time",
  async (t) => {
    const dir = scratchDir(t);
    const wf = join(dir, 'wf.ts');
    // Asleep, a job takes wall time but next to no CPU: the two measures cannot be mistaken.
    writeFileSync(
      wf,
      `import { defineJob, defineWorkflow } from 'toil-ts';
const sleeps = defineJob<null, void>('sleeps', { cores: 0.5, memory: '32Mi', disk: '1Mi' }, async () => {
  await new Promise((res) => setTimeout(res, 1500));
});
export default defineWorkflow<void>({ start: (ctx) => ctx.root(sleeps, null) });
`,
    );
    const run = await runToil(['run', wf, 'file:./js', '--stats'], { cwd: dir });
    t.equal(run.code, 0, run.stderr);
    const raw = await runToil(['stats', 'file:./js', '--raw'], { cwd: dir });
    t.equal(raw.code, 0, raw.stderr);
    const s = JSON.parse(raw.stdout) as RawStats;
    const sleeps = s.byName.find((n) => n.name === 'sleeps');
    t.ok(sleeps !== undefined, `the job is reported: ${raw.stdout}`);
    t.ok(sleeps!.time.min >= 1.4, `time is its wall time, its 1.5 s asleep: ${JSON.stringify(sleeps)}`);
    t.ok(
      sleeps!.clock !== undefined && sleeps!.clock.max < sleeps!.time.min / 2,
      `clock is its CPU time, well below: ${JSON.stringify(sleeps)}`,
    );
    t.ok(s.timeSeconds >= 1.4, `timeSeconds is the jobs' wall time: ${raw.stdout}`);
    t.ok(s.cpuSeconds < s.timeSeconds / 2, `cpuSeconds their CPU time: ${raw.stdout}`);
  },
);
