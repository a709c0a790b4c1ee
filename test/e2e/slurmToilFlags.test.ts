import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { needsSlurm, toilJobCompletions, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { REPO_ROOT, runToil, scratchDir, sortedLikeCSort } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);
// Each case has its own Slurm cluster and directory: they run side by side.
t.jobs = 3;

/**
 * Toil's Slurm example as its docs write it (docs/running/hpcEnvironments.rst):
 * `sort.py ./store --batchSystem slurm --batchLogsDir ./logs`, with `--slurmTime` and
 * `--slurmArgs`. Slurm's own records say what each job got: the time limit, the extra flag, and
 * a stdout and stderr file per job in the logs directory, named as Toil names them.
 */
t.test(
  "toil run --batchSystem slurm with Toil's --batchLogsDir, --slurmTime and --slurmArgs on a real Slurm",
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-flags-');
    fs.mkdirSync(path.join(dir, 'logs'));
    const run = await runToil(
      [
        'run',
        path.join(REPO_ROOT, 'examples/sort.ts'),
        './store',
        '--batchSystem',
        'slurm',
        '--batchLogsDir',
        './logs',
        '--slurmTime',
        '0:30:00',
        '--slurmArgs',
        '--nice=7',
        '--logLevel',
        'warning',
        '--numLines',
        '2000',
        '--N',
        '40000',
      ],
      { cwd: dir, env: { SLURM_CONF: cluster.controller.conf, TOIL_SLURM_ARGS: '--nice=3' } },
    );
    t.equal(run.code, 0, `toil run exits 0\n${run.stderr.slice(-2000)}`);
    t.ok(sortedLikeCSort(dir), "the output equals LC_ALL=C sort's");

    const jobs = (await cluster.cli.jobs()).filter((j) => parseAttemptComment(j.comment));
    t.ok(jobs.length >= 3, `${jobs.length} Slurm jobs`);
    // The controller's job completion log: an independent record of what each job was given.
    const comp = toilJobCompletions(cluster.controller.dir);
    t.equal(comp.length, jobs.length, 'jobcomp has every job');
    t.ok(
      comp.every((l) => / TimeLimit=30 /.test(l)),
      `--slurmTime 0:30:00: every job's time limit is 30 minutes (${comp[0]})`,
    );
    const logs = fs.readdirSync(path.join(dir, 'logs')).sort();
    for (const j of jobs) {
      const { jobId } = parseAttemptComment(j.comment)!;
      for (const stream of ['std_output', 'std_error'])
        t.ok(
          logs.includes(`toil_job_${jobId}_batch_slurm_${j.jobId}_${stream}.log`),
          `Slurm job ${j.jobId}: its ${stream} file is in --batchLogsDir`,
        );
    }
    t.equal(logs.length, 2 * jobs.length, 'one stdout and one stderr file per job, nothing else');
  },
);

/**
 * The same settings from Toil's environment variables (what a cluster's login profile sets):
 * `TOIL_SLURM_TIME`, `TOIL_BATCH_LOGS_DIR` and `TOIL_SLURM_PARTITION` hold with no flag given.
 */
t.test(
  "toil run --batchSystem slurm with Toil's TOIL_SLURM_TIME, TOIL_BATCH_LOGS_DIR and TOIL_SLURM_PARTITION",
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-env-');
    const env = {
      SLURM_CONF: cluster.controller.conf,
      TOIL_SLURM_TIME: '0:20:00',
      TOIL_BATCH_LOGS_DIR: './envlogs',
    };
    const sort = (store: string, more: Record<string, string> = {}) =>
      runToil(
        ['run', path.join(REPO_ROOT, 'examples/sort.ts'), store, '--batchSystem', 'slurm'].concat([
          '--logLevel',
          'warning',
          '--numLines',
          '500',
        ]),
        { cwd: dir, env: { ...env, ...more } },
      );
    const run = await sort('./store', { TOIL_SLURM_PARTITION: 'nosuchpartition' });
    // The partition the variable names is checked against Slurm's before anything starts.
    t.equal(run.code, 2, 'a partition Slurm does not have is bad input');
    t.match(
      run.stderr,
      /^toil: TOIL_SLURM_PARTITION nosuchpartition: the Slurm cluster has no such partition \(its partitions: \S+/m,
    );
    t.notMatch(run.stderr, /internal error|\n\s+at /, 'one line, no stack');
    t.notOk(fs.existsSync(path.join(dir, 'store')), 'no job store made');
    const ok = await sort('./store2');
    t.equal(ok.code, 0, ok.stderr.slice(-2000));
    const comp = toilJobCompletions(cluster.controller.dir);
    t.ok(comp.length >= 1, `${comp.length} jobs completed`);
    t.ok(
      comp.every((l) => / TimeLimit=20 /.test(l)),
      `TOIL_SLURM_TIME 0:20:00: every job's time limit is 20 minutes (${comp[0]})`,
    );
    t.ok(fs.readdirSync(path.join(dir, 'envlogs')).length >= 2, 'job output files in TOIL_BATCH_LOGS_DIR');
  },
);

/**
 * Toil's --noStdOutErr with --batchLogsDir: Toil's batch systems send the jobs' output to
 * /dev/null then (format_std_out_err_path), so neither writes a file into the logs directory.
 */
t.test(
  "toil run --batchSystem slurm --batchLogsDir ./logs --noStdOutErr writes no job output file, as Toil's",
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['ondemand'], memoryMb: 4000 }]);
    t.teardown(() => cluster.stop());
    const dir = scratchDir(t, 'toil-slurm-nostdouterr-');
    fs.mkdirSync(path.join(dir, 'logs'));
    const run = await runToil(
      [
        'run',
        path.join(REPO_ROOT, 'examples/sort.ts'),
        './store',
        '--batchSystem',
        'slurm',
        '--batchLogsDir',
        './logs',
        '--noStdOutErr',
        '--numLines',
        '500',
      ],
      { cwd: dir, env: { SLURM_CONF: cluster.controller.conf } },
    );
    t.equal(run.code, 0, `toil run exits 0\n${run.stderr.slice(-2000)}`);
    t.ok(sortedLikeCSort(dir), "the output equals LC_ALL=C sort's");
    t.notMatch(run.stderr, /--noStdOutErr has no effect/, 'not said to have no effect: it has one');
    const comp = toilJobCompletions(cluster.controller.dir);
    t.ok(comp.length >= 2, `${comp.length} Slurm jobs ran`);
    t.same(fs.readdirSync(path.join(dir, 'logs')), [], 'no output file in --batchLogsDir');
  },
);
