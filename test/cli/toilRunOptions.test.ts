import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import t from 'tap';
import type { UserInputError } from '../../src/common/errors.js';
import {
  command as runCommand,
  parsePreemptableRetries,
  toilFlagLookalikes,
  type RunFlags,
} from '../../src/cli/run.js';
import { parseSlurmFlags } from '../../src/slurm/slurmFlags.js';
import {
  foreignToilOptions,
  jobLogFilesOptions,
  logLevelOf,
  openLogFile,
} from '../../src/cli/toilRunOptions.js';

/**
 * Every option of Toil's `toil run` (Toil's src/toil/options/common.py, batchSystems/options.py,
 * statsAndLogging.py, and the batch systems' own: single machine, Mesos, Slurm, AWS Batch,
 * Kubernetes) is toil-ts's to take: none is passed on to the workflow, whose parser would refuse
 * it as its own mistake.
 */
const TOIL_RUN_OPTIONS =
  `--assumeZeroOverhead --badWorker --badWorkerFailInterval --batchLogsDir --batchSystem
  --betaInertia --caching --clean --cleanWorkDir --clusterStats --coalesceStatusCalls --coordinationDir
  --deadlockCheckInterval --deadlockWait --debugWorker --defaultAccelerators --defaultCores --defaultDisk
  --defaultMemory --defaultPreemptable --defaultPreemptible --defaultWalltime --disableAutoDeployment
  --disableCaching --disableChaining --disableHotDeployment --disableJobStoreChecksumVerification
  --disableProgress --disableWorkerOutputCapture --doubleMem --enableUnlimitedPreemptableRetries
  --enableUnlimitedPreemptibleRetries --forceDockerAppliance --jobStoreTimeout --linkImports --logColors
  --logFile --logLevel --logOff --logCritical --logError --logWarning --logInfo --logDebug --logTrace
  --manualMemArgs --maxCores --maxDisk --maxJobDuration --maxJobs --maxLocalJobs --maxLogFileSize --maxMemory
  --maxNodes --maxPreemptibleServiceJobs --maxServiceJobs --memoryIsProduct --metrics --minNodes --moveExports
  --moveOutputs --noLinkImports --noMoveExports --noStdOutErr --nodeStorage --nodeStorageOverrides --nodeTypes
  --preemptableCompensation --preemptibleCompensation --provisioner --publishWorkflowMetrics --realTimeLogging
  --rescueJobsFrequency --restart --retryBackoffFactor --retryBackoffSeconds --retryCount --rotatingLogging
  --runCwlInternalJobsOnWorkers --runLocalJobsOnWorkers --scaleInterval --servicePollingInterval --setEnv
  --sseKey --statePollingTimeout --statePollingWait --stats --statusWait --stopOnFirstFailure --symlinkImports
  --symlinkJobStoreReads --targetTime --workDir --writeLogs --writeLogsFromAllJobs --writeLogsGzip
  --writeMessages --mesosEndpoint --mesosFrameworkId --mesosMaster --mesosName --mesosRole --slurmAllocateMem
  --slurmArgs --slurmDefaultAllMem --slurmGPUPartition --slurmGPUQOS --slurmPE --slurmPartition --slurmQOS
  --slurmTime --scale --awsBatchRegion --awsBatchQueue --awsBatchJobRoleArn --kubernetesHostPath
  --kubernetesOwner --kubernetesServiceAccount --kubernetesPodTimeout --kubernetesPrivileged
  --kubernetesPodSecurityContext --kubernetesSecurityContext --kill_polling_interval --log-dir
  --dont_allocate_mem --allocate_mem --tesEndpoint --tesUser --tesPassword --tesBearerToken
  --parasolCommand --parasolMaxBatches`
    .split(/\s+/)
    .filter(Boolean);

function runCommandOptions(): Command {
  const program = new Command();
  runCommand.register(program, () => undefined);
  return program.commands.find((c) => c.name() === 'run')!;
}

t.test(
  'a workflow argument that is a toil option in another case is warned of, naming the option',
  async (t) => {
    const longs = runCommandOptions().options.flatMap((o) => (o.long ? [o.long] : []));
    const rows: [string, string[], string[]][] = [
      ['another case', ['--retrycount', '3'], ['--retryCount']],
      ['another case, with =', ['--MAXNODES=4'], ['--maxNodes']],
      [
        "the start of one (--maxLocal): left to the workflow's refusal, which names it (toilFlagHint)",
        ['--maxLocal', '2'],
        [],
      ],
      ['a toil option itself (taken by toil, never passed on)', ['--retryCount', '2'], []],
      [
        "the sort example's own options",
        ['--numLines', '5', '--N', '300', '--sortMemory', '1G', '--fileToSort', 'x'],
        [],
      ],
      ['a value, not an option', ['retrycount'], []],
    ];
    for (const [name, args, meant] of rows) {
      const lines = toilFlagLookalikes(args, longs);
      t.same(
        lines.map((l) => /did you mean (--\w+)\?\)$/.exec(l)?.[1]),
        meant,
        `${name}: ${lines.join(' | ') || 'no warning'}`,
      );
    }
    t.same(toilFlagLookalikes(['--retrycount', '3'], longs), [
      'toil: --retrycount is not a toil option, so it goes to the workflow, not to toil (did you mean --retryCount?)',
    ]);
  },
);

t.test("no option of Toil's `toil run` is passed on to the workflow", async (t) => {
  const run = runCommandOptions();
  const longs = new Set(run.options.flatMap((o) => (o.long ? [o.long] : [])));
  const missing = TOIL_RUN_OPTIONS.filter((f) => !longs.has(f));
  t.same(missing, [], 'every Toil option is a toil run option');
  t.same(run.parseOptions(['--stats', '--sseKey', 'k', '--numLines', '5']).unknown, ['--numLines', '5']);
});

/**
 * Toil's options whose argparse `type` is `strtobool` (or `opt_strtobool`) without `nargs='?'`:
 * Toil's parser takes the word after them as their value, so its docs write `--flag True`.
 */
const TOIL_TRUE_FALSE_OPTIONS = `--symlinkImports --moveOutputs --caching --symlinkJobStoreReads --metrics
  --assumeZeroOverhead --stopOnFirstFailure --enableUnlimitedPreemptibleRetries
  --enableUnlimitedPreemptableRetries --doubleMem --writeLogsFromAllJobs --realTimeLogging --disableChaining
  --disableJobStoreChecksumVerification --forceDockerAppliance --slurmAllocateMem --slurmDefaultAllMem
  --logColors --kubernetesPrivileged --defaultPreemptible --defaultPreemptable`
  .split(/\s+/)
  .filter(Boolean);

t.test('a Toil option that takes true or false takes it, as `--flag True` or `--flag=false`', async (t) => {
  for (const flag of TOIL_TRUE_FALSE_OPTIONS)
    for (const args of [[flag, 'True'], [`${flag}=false`]]) {
      const parsed = runCommandOptions().parseOptions([...args, '--numLines', '5']);
      t.same(
        [...parsed.operands, ...parsed.unknown],
        ['--numLines', '5'],
        `${args.join(' ')}: its value is not passed on to the workflow`,
      );
    }
  // Toil's --disableAutoDeployment stores whatever value it is given.
  const deployment = runCommandOptions().parseOptions(['--disableAutoDeployment', 'True', 'x']);
  t.same([...deployment.operands, ...deployment.unknown], ['x'], '--disableAutoDeployment True');
});

t.test(
  "Toil's older Slurm switches --dont_allocate_mem and --allocate_mem set --slurmAllocateMem, the last given winning",
  async (t) => {
    const allocateMem = (...args: string[]): boolean | undefined => {
      const run = runCommandOptions();
      const parsed = run.parseOptions([...args, '--numLines', '5']);
      t.same(
        [...parsed.operands, ...parsed.unknown],
        ['--numLines', '5'],
        `${args.join(' ')}: not the workflow's`,
      );
      return parseSlurmFlags(run.opts<RunFlags>(), {}).jobFlags.allocateMem;
    };
    t.equal(allocateMem(), undefined, 'neither: the default (--mem asked for)');
    t.equal(allocateMem('--dont_allocate_mem'), false, '--dont_allocate_mem: no --mem');
    t.equal(allocateMem('--allocate_mem'), true);
    t.equal(allocateMem('--dont_allocate_mem', '--allocate_mem'), true, 'the last wins');
    t.equal(
      allocateMem('--slurmAllocateMem', 'true', '--dont_allocate_mem'),
      false,
      'over the new spelling too',
    );
    t.equal(allocateMem('--dont_allocate_mem', '--slurmAllocateMem', 'True'), true, 'and the other way');
  },
);

t.test('--enableUnlimitedPreemptibleRetries True/False turns unlimited spot reruns on/off', async (t) => {
  const retries = (...args: string[]): number => {
    const run = runCommandOptions();
    run.parseOptions(args);
    return parsePreemptableRetries(run.opts<RunFlags>());
  };
  t.equal(retries(), 3, 'the default: 3 reruns on spot, then on-demand');
  t.equal(retries('--enableUnlimitedPreemptibleRetries'), Infinity, 'bare: on');
  t.equal(retries('--enableUnlimitedPreemptibleRetries', 'True'), Infinity, "Toil's form: on");
  t.equal(retries('--enableUnlimitedPreemptableRetries=true'), Infinity, 'the other spelling');
  t.equal(retries('--enableUnlimitedPreemptibleRetries', 'False'), 3, 'False: off, not on');
  t.equal(retries('--enableUnlimitedPreemptibleRetries=0', '--preemptableRetries', '5'), 5);
  t.throws(() => retries('--enableUnlimitedPreemptibleRetries', 'often'), {
    code: 'BAD_FLAG',
    message: '--enableUnlimitedPreemptibleRetries often: expected true or false',
  });
});

t.test('an ignored option is named once with its reason; a refused one ends the run', async (t) => {
  t.same(foreignToilOptions({}), []);
  t.same(foreignToilOptions({ disableCaching: true, maxLocalJobs: '4' }), [
    'toil: --disableCaching has no effect here: toil-ts keeps no cache of job-store files on workers',
    'toil: --maxLocalJobs has no effect here: toil-ts runs every job through the batch system, none on the leader',
  ]);
  t.same(foreignToilOptions({ kill_polling_interval: '10', logDir: './logs' }), [
    "toil: --kill_polling_interval has no effect here: toil-ts's leader looks for a `toil kill` request every 5 s",
    "toil: --log-dir has no effect here: it is for CWL workflows' tool output; toil-ts runs TypeScript workflows",
  ]);
  const refused: [flags: Record<string, unknown>, flag: string][] = [
    [{ sseKey: 'k' }, '--sseKey'],
    [{ slurmDefaultAllMem: 'true' }, '--slurmDefaultAllMem'],
    [{ doubleMem: true }, '--doubleMem'],
    [{ doubleMem: 'yes' }, '--doubleMem'],
  ];
  for (const [flags, flag] of refused) {
    const err = t.throws(() => foreignToilOptions(flags)) as UserInputError;
    t.equal(err.code, 'UNSUPPORTED_TOIL_OPTION', flag);
    t.match(err.message, new RegExp(`^${flag}: `), `${flag}: the message names it`);
  }
  t.throws(
    () => foreignToilOptions({ slurmDefaultAllMem: 'true' }),
    { message: /give --defaultMemory the nodes' memory instead/ },
    '--slurmDefaultAllMem: the way out is one toil-ts takes (TOIL_SLURM_ARGS refuses --mem, as in Toil)',
  );
  t.same(foreignToilOptions({ doubleMem: 'false', stopOnFirstFailure: 'False' }), [], 'turned off: harmless');
  const removed: [flags: Record<string, unknown>, flag: string, instead: RegExp][] = [
    [
      { nodeOptions: 'x' },
      '--nodeOptions',
      /--nodeTypes c5\.large\) and their root volume with --nodeStorage/,
    ],
    [{ preemptableNodeOptions: 'x' }, '--preemptableNodeOptions', /--nodeTypes c5\.large:0\.05/],
    [{ alphaPacking: '0.8' }, '--alphaPacking', /leave it out \(for more nodes sooner, lower --targetTime/],
  ];
  for (const [flags, flag, instead] of removed) {
    const err = t.throws(() => foreignToilOptions(flags)) as UserInputError;
    t.equal(err.code, 'UNSUPPORTED_TOIL_OPTION', `${flag}: refused, exit 2`);
    t.match(err.message, new RegExp(`^${flag}: Toil removed this option`), `${flag}: Toil removed it`);
    t.match(err.message, instead, `${flag}: what to do instead`);
    t.same(
      runCommandOptions().parseOptions([flag, 'v', '--numLines', '5']).unknown,
      ['--numLines', '5'],
      `${flag} and its value are not passed on to the workflow`,
    );
  }
  t.same(
    foreignToilOptions({ maxJobs: '60' }),
    [],
    '--maxJobs is acted on (the leader caps the jobs issued), not foreign',
  );
  t.same(
    foreignToilOptions({ slurmGPUPartition: 'gpu' }),
    ['toil: --slurmGPUPartition has no effect here: toil-ts jobs ask for no GPUs'],
    "Toil's GPU partition is said to change nothing",
  );
  t.same(
    foreignToilOptions({ kubernetesOwner: 'me', awsBatchQueue: 'q' }),
    [
      "toil: --awsBatchQueue has no effect here: it tunes Toil's aws_batch batch system; toil-ts's are single_machine, mesos and slurm",
      "toil: --kubernetesOwner has no effect here: it tunes Toil's kubernetes batch system; toil-ts's are single_machine, mesos and slurm",
    ],
    "another batch system's options are named, not passed to the workflow",
  );
  t.same(
    foreignToilOptions({ tesEndpoint: 'http://tes:8000', parasolMaxBatches: '1000' }),
    [
      "toil: --tesEndpoint has no effect here: it tunes Toil's tes batch system; toil-ts's are single_machine, mesos and slurm",
      "toil: --parasolMaxBatches has no effect here: it tunes Toil's parasol batch system; toil-ts's are single_machine, mesos and slurm",
    ],
    "the TES and Parasol options of Toil's Commandline Options page are named, not passed to the workflow",
  );
  t.throws(() => foreignToilOptions({ parasolMaxBatches: 'many' }), {
    message: '--parasolMaxBatches many: expected a whole number',
  });
  const bad = t.throws(() => foreignToilOptions({ realTimeLogging: 'often' })) as UserInputError;
  t.equal(bad.message, '--realTimeLogging often: expected true or false');
});

t.test("the log level: logLevel, else a config file's --log<Level> switch, else info", async (t) => {
  t.equal(logLevelOf({}), 'info');
  t.equal(logLevelOf({}, 'warning'), 'warning', 'the fallback');
  t.equal(logLevelOf({ logDebug: true }), 'debug', "a file's logDebug: true");
  t.equal(logLevelOf({ logOff: 'yes' }), 'critical', "a file's logOff: yes");
  t.equal(logLevelOf({ logLevel: 'warning', logDebug: true }), 'warning');
});

t.test('--logFile appends each line as it is written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-logfile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'run.log');
  const a = openLogFile(path)!;
  a.write('first');
  t.equal(readFileSync(path, 'utf8'), 'first\n', 'on disk before close');
  a.close();
  const b = openLogFile(path)!;
  b.write('second');
  b.close();
  t.equal(readFileSync(path, 'utf8'), 'first\nsecond\n', 'appended, not truncated');
  t.equal(openLogFile(undefined), undefined);
  t.throws(() => openLogFile(join(dir, 'missing', 'x.log')), { code: 'BAD_FLAG' });
});

t.test('--writeLogs [DIR] and its companions: where and how job logs are written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-writelogs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(jobLogFilesOptions({ writeLogsFromAllJobs: true, maxLogFileSize: '1Mi' }), undefined);
  t.same(jobLogFilesOptions({ writeLogs: join(dir, 'a/b') }), {
    dir: join(dir, 'a/b'),
    gzip: false,
    maxBytes: 100 * 1024 * 1024, // Toil's default: 100 MiB
    allJobs: false,
  });
  t.ok(existsSync(join(dir, 'a/b')), 'the directory is made');
  t.same(jobLogFilesOptions({ writeLogsGzip: dir, writeLogsFromAllJobs: 'false', maxLogFileSize: '64000' }), {
    dir,
    gzip: true,
    maxBytes: 64000,
    allJobs: false,
  });
  t.equal(
    jobLogFilesOptions({ writeLogs: dir, maxLogFileSize: '-1Mi' })?.maxBytes,
    -(2 ** 20),
    "negative: keep each log's start (Toil's)",
  );
  t.equal(jobLogFilesOptions({ writeLogs: dir, writeLogsFromAllJobs: true })?.allJobs, true);
  t.equal(
    jobLogFilesOptions({ writeLogs: dir, logLevel: 'debug' })?.allJobs,
    true,
    'log level debug: all jobs',
  );
  t.equal(jobLogFilesOptions({ writeLogs: true })?.dir, process.cwd(), 'no DIR: the current directory');
  const bad: [flags: Record<string, unknown>, message: RegExp][] = [
    [{ writeLogs: dir, writeLogsGzip: dir }, /^--writeLogs and --writeLogsGzip: give one of them$/],
    [{ writeLogs: dir, maxLogFileSize: 'big' }, /^--maxLogFileSize big: expected a size/],
    [{ writeLogs: dir, maxLogFileSize: '--1Mi' }, /^--maxLogFileSize --1Mi: expected a size/],
    [
      { writeLogs: dir, writeLogsFromAllJobs: 'often' },
      /^--writeLogsFromAllJobs often: expected true or false$/,
    ],
    [{ writeLogs: join(dir, 'f/x') }, /^--writeLogs .*f\/x: cannot write job logs there \(ENOTDIR\)$/],
  ];
  writeFileSync(join(dir, 'f'), '');
  for (const [flags, message] of bad)
    t.throws(() => jobLogFilesOptions(flags), { code: 'BAD_FLAG', message }, message.source);
});

t.test('a count flag given an empty value (an unset shell variable) is refused, not read as 0', async (t) => {
  const { parseCount } = await import('../../src/cli/run.js');
  t.throws(() => parseCount('--retryCount', ''), /^--retryCount : expected a whole number >= 0$/);
  t.throws(() => parseCount('--retryCount', ' '), /expected a whole number >= 0/);
  t.equal(parseCount('--retryCount', '0'), 0);
  t.equal(parseCount('--retryCount', '3'), 3);
});

t.test("--workDir with --leader is refused: the daemon's scratch is its own TOIL_WORKDIR", async (t) => {
  const { refuseFlagsOnlyThisProcessHonours } = await import('../../src/cli/run.js');
  t.throws(() => refuseFlagsOnlyThisProcessHonours({ workDir: '/scratch' }), {
    code: 'UNSUPPORTED_TOIL_OPTION',
    message:
      /^--workDir \/scratch: with --leader no scratch space is on this machine: the leader daemon's is its own TOIL_WORKDIR .*run without --workDir$/,
  });
  // This shell's TOIL_WORKDIR (read only by a local run) sets no --workDir: a submission goes ahead.
  const saved = process.env.TOIL_WORKDIR;
  process.env.TOIL_WORKDIR = tmpdir();
  t.teardown(() => {
    if (saved === undefined) delete process.env.TOIL_WORKDIR;
    else process.env.TOIL_WORKDIR = saved;
  });
  const given = runCommandOptions();
  given.parseOptions(['--leader', 'http://127.0.0.1:9']);
  t.equal(given.opts()['workDir'], undefined);
  t.doesNotThrow(() => refuseFlagsOnlyThisProcessHonours(given.opts()));
});
