import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import {
  addForeignOptions,
  checkForeignOptions,
  decimal,
  existingPath,
  ignored,
  oneOf,
  refused,
  wholeNumber,
  withEnvVar,
  type ForeignOption,
} from './foreignOptions.js';
import type { Clock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { createLogger, toPinoLevel, type Logger } from '../common/log.js';
import { SIZE_SUFFIXES, tryParseBytes } from '../common/units.js';
import { ConsoleOutput } from '../leader/consoleOutput.js';
import { openJobLogDir, type JobLogFilesOptions } from '../leader/jobLogFiles.js';
import { KILL_POLL_MS } from '../leader/killRequest.js';
import { takeEarlyNotices } from './earlyNotices.js';
import { LEVEL_SWITCHES, addLevelSwitches } from './logLevelSwitches.js';
import { REMOVED_SCALER_OPTIONS } from './removedScalerOptions.js';

/**
 * Toil's `toil run` options beyond the ones toil-ts acts on (src/cli/foreignOptions.ts says what
 * `ignored` and `refused` mean), and the run's output as its logging options ask.
 */
const POLLING = "it tunes how Toil's leader polls; toil-ts's leader hears of each job's end as it happens";
const LOCAL_JOBS = 'toil-ts runs every job through the batch system, none on the leader';
const DEPLOYMENT = 'toil-ts bundles the workflow module into the job store itself';
const FILES = 'toil-ts copies files into and out of the job store (no links, no moves)';
const MESOS_FRAMEWORK = 'toil-ts registers its Mesos framework under its own name and role';
const CACHE = 'toil-ts keeps no cache of job-store files on workers';
const JOB_LOG = "a job's log lines reach the leader when the job ends, with its commit or its failure report";
const OUTPUT = "toil-ts keeps a job's output only for its failure report";
const TOIL_TESTING = "it is Toil's fault-injection and debugging aid for its own tests";
const SLURM_MEMORY = "toil-ts asks Slurm for each job's memory itself";
const BACKOFF = 'toil-ts retries a failed job at once';
const OTHER_BATCH_SYSTEM = (name: string): string =>
  `it tunes Toil's ${name} batch system; toil-ts's are single_machine, mesos and slurm`;
// Not `--mem=0` in TOIL_SLURM_ARGS: that is refused there, as in Toil (each job's --mem is its own).
const COORDINATION = 'toil-ts workers coordinate through the job store';
const NO_GPUS = 'toil-ts jobs ask for no GPUs';
const SLURM_DEFAULT_ALL_MEM =
  "toil-ts does not ask Slurm for a node's whole memory; give --defaultMemory the nodes' memory instead (the jobs that declare none then ask for that)";

export const FOREIGN_RUN_OPTIONS: readonly ForeignOption[] = [
  // Ignored: no result changes without them.
  ...ignored('none', CACHE, '--disableCaching'),
  ...ignored('bool', CACHE, '--caching'),
  ...ignored('bool', JOB_LOG, '--realTimeLogging'),
  ...ignored('none', 'the log is not rotated', '--rotatingLogging'),
  ...ignored('bool', 'log lines are plain text', '--logColors'),
  ...ignored(wholeNumber(), POLLING, '--statePollingWait', '--statePollingTimeout'),
  ...ignored(decimal(0), POLLING, '--jobStoreTimeout'),
  ...ignored(wholeNumber(1), POLLING, '--rescueJobsFrequency'),
  ...ignored('none', POLLING, '--coalesceStatusCalls'),
  ...ignored(
    wholeNumber(),
    `toil-ts's leader looks for a \`toil kill\` request every ${KILL_POLL_MS / 1000} s`,
    '--kill_polling_interval',
  ),
  ...ignored('value', "it is for CWL workflows' tool output; toil-ts runs TypeScript workflows", '--log-dir'),
  ...ignored(
    wholeNumber(),
    'toil-ts checks for a service deadlock at each --servicePollingInterval',
    '--deadlockCheckInterval',
  ),
  ...ignored(wholeNumber(), 'toil-ts shows progress as it changes', '--statusWait'),
  // Toil's --forceDockerAppliance takes a true/false value, --disableAutoDeployment any value.
  ...ignored('bool', DEPLOYMENT, '--forceDockerAppliance'),
  ...ignored('optional', DEPLOYMENT, '--disableAutoDeployment'),
  ...ignored('none', DEPLOYMENT, '--disableHotDeployment'),
  ...ignored(wholeNumber(), LOCAL_JOBS, '--maxLocalJobs'),
  ...ignored('none', LOCAL_JOBS, '--runLocalJobsOnWorkers', '--runCwlInternalJobsOnWorkers'),
  ...ignored('bool', 'toil-ts does not chain jobs', '--disableChaining'),
  // --noStdOutErr takes effect with --batchSystem slurm (src/slurm/slurmFlags.ts); the note is
  // left out there (runOutput).
  ...ignored('none', OUTPUT, '--noStdOutErr', '--disableWorkerOutputCapture'),
  ...ignored('bool', FILES, '--linkImports', '--symlinkImports', '--moveExports', '--moveOutputs'),
  ...ignored('bool', FILES, '--symlinkJobStoreReads'),
  ...ignored('none', FILES, '--noLinkImports', '--noMoveExports'),
  ...ignored(
    'bool',
    'toil-ts always verifies what it reads from the job store',
    '--disableJobStoreChecksumVerification',
  ),
  ...ignored(
    oneOf('always', 'onError', 'never', 'onSuccess'),
    "toil-ts removes a job's scratch space when the job ends",
    '--cleanWorkDir',
  ),
  ...withEnvVar('TOIL_COORDINATION_DIR', ignored(existingPath, COORDINATION, '--coordinationDir')),
  ...ignored('value', MESOS_FRAMEWORK, '--mesosName', '--mesosRole', '--mesosFrameworkId'),
  ...ignored('none', SLURM_MEMORY, '--manualMemArgs', '--memoryIsProduct'),
  ...ignored(decimal(0), BACKOFF, '--retryBackoffSeconds'),
  ...ignored(decimal(1), BACKOFF, '--retryBackoffFactor'),
  ...ignored(decimal(0, 1), TOIL_TESTING, '--badWorker'),
  ...ignored(decimal(0), TOIL_TESTING, '--badWorkerFailInterval'),
  ...ignored('none', TOIL_TESTING, '--debugWorker'),
  ...ignored(
    'bool',
    "the leader serves Prometheus metrics at /metrics (the status address the run prints, or `toil leader`'s)",
    '--metrics',
  ),
  ...ignored(
    oneOf('all', 'current', 'no'),
    'toil-ts publishes no workflow metrics to Dockstore',
    '--publishWorkflowMetrics',
  ),
  ...ignored(wholeNumber(0), 'jobs declare their walltime; the scaler learns the rest', '--defaultWalltime'),
  ...ignored(
    'value',
    OTHER_BATCH_SYSTEM('aws_batch'),
    '--awsBatchRegion',
    '--awsBatchQueue',
    '--awsBatchJobRoleArn',
  ),
  ...ignored(
    'value',
    OTHER_BATCH_SYSTEM('kubernetes'),
    '--kubernetesHostPath',
    '--kubernetesOwner',
    '--kubernetesServiceAccount',
    '--kubernetesPodSecurityContext',
    '--kubernetesSecurityContext',
  ),
  ...ignored(decimal(), OTHER_BATCH_SYSTEM('kubernetes'), '--kubernetesPodTimeout'),
  // Toil's docs list these with its batch system options ("Commandline Options").
  ...ignored(
    'value',
    OTHER_BATCH_SYSTEM('tes'),
    '--tesEndpoint',
    '--tesUser',
    '--tesPassword',
    '--tesBearerToken',
  ),
  ...ignored('value', OTHER_BATCH_SYSTEM('parasol'), '--parasolCommand'),
  ...ignored(wholeNumber(), OTHER_BATCH_SYSTEM('parasol'), '--parasolMaxBatches'),
  ...ignored('bool', OTHER_BATCH_SYSTEM('kubernetes'), '--kubernetesPrivileged'),
  // Refused: running without them would silently give less than asked for.
  ...refused(
    'value',
    'SSE-C encryption of the job store is not supported (the bucket is encrypted with S3-managed keys, SSE-S3); run without --sseKey',
    '--sseKey',
  ),
  ...refused(
    'bool',
    // Toil doubles the memory of a job its batch system killed for exceeding it; no batch system
    // of ours sets a memory limit (Slurm's slurm.conf tracks none: no job ends OUT_OF_MEMORY).
    'toil-ts does not retry a job with more memory: none of its batch systems can tell a job killed for exceeding its memory; give the job the memory it needs',
    '--doubleMem',
  ),
  ...refused('value', 'toil-ts schedules no accelerators (GPUs)', '--defaultAccelerators'),
  ...withEnvVar('TOIL_SLURM_GPU_PARTITION', ignored('value', NO_GPUS, '--slurmGPUPartition')),
  ...withEnvVar('TOIL_SLURM_GPU_QOS', ignored('value', NO_GPUS, '--slurmGPUQOS')),
  ...withEnvVar('TOIL_SLURM_DEFAULT_ALL_MEM', refused('bool', SLURM_DEFAULT_ALL_MEM, '--slurmDefaultAllMem')),
  ...REMOVED_SCALER_OPTIONS,
];

/** Adds Toil's logging switches, `--logFile` and the options above (hidden from --help) to `toil run`. */
export function addToilRunOptions(cmd: Command): Command {
  cmd.option('--logFile <path>', 'also append the log to this file');
  cmd.option('--disableProgress', 'draw no progress bar');
  cmd.option(
    '--clusterStats [dir]',
    "--provisioner aws: write the cluster's node history and usage, as JSON, to <clusterName>-stats<NNN>.json in DIR (default: the current directory) when the run ends",
  );
  cmd.option(
    '--writeMessages <path>',
    "write the leader's job events to this file as they happen, one JSON line each (issued, completed, failed, lost, killed, gaveUp)",
  );
  cmd.option(
    '--writeLogs [dir]',
    "write each failed job attempt's log (error, log lines, output tail) to its own file in DIR (default: the current directory) as the leader learns of it",
  );
  cmd.option('--writeLogsGzip [dir]', 'the same as --writeLogs, gzipped (.log.gz)');
  cmd.option(
    '--writeLogsFromAllJobs [bool]',
    "--writeLogs: successful jobs' logs too (so does --logLevel debug)",
  );
  cmd.option(
    '--maxLogFileSize <size>',
    '--writeLogs: bytes a job log file keeps, its end (e.g. 64000 or 1Mi; 0: no limit; default 100Mi, as in Toil)',
  );
  addLevelSwitches(cmd);
  addForeignOptions(cmd, FOREIGN_RUN_OPTIONS);
  return cmd;
}

/**
 * The log level the flags ask for: the last of `--logLevel` and the `--log<Level>` switches given
 * (addLevelSwitches), else a file's `logLevel`, else a switch a config file set (`logDebug: true`),
 * else `fallback`. A file sets nothing the command line gave (runConfigFile.ts): the command line wins.
 */
export function logLevelOf(flags: object, fallback = 'info'): string {
  const f = flags as Record<string, unknown>;
  const given = f['logLevel'];
  if (typeof given === 'string') return given;
  const fromFile = LEVEL_SWITCHES.find(([flag]) => {
    const v = f[flag.slice(2)];
    return v === true || (typeof v === 'string' && isTrue(v));
  });
  return fromFile?.[1] ?? fallback;
}

/**
 * Checks the Toil options given that toil-ts does not act on (on the command line, or through
 * the environment variable Toil reads for one): throws for the first refused one
 * (exit 2), and returns one line for each ignored one, for the run to print before it starts.
 */
export function foreignToilOptions(
  flags: object,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  return checkForeignOptions(flags, FOREIGN_RUN_OPTIONS, env);
}

/** Toil reads it over --coordinationDir and TOIL_COORDINATION_DIR, with no check of its own. */
function coordinationDirOverride(env: Readonly<Record<string, string | undefined>>): string[] {
  return env.TOIL_COORDINATION_DIR_OVERRIDE?.trim()
    ? [`toil: TOIL_COORDINATION_DIR_OVERRIDE has no effect here: ${COORDINATION}`]
    : [];
}

/**
 * What `toil run` says of Toil's variables that stand for one of its options, the options aside:
 * one line for each that has no effect, and a throw for one it refuses. `toil leader` says it at
 * its start: Toil's leader reads them (its coordination directory, its Slurm batch system's GPU
 * partition and QOS, a node's whole memory for jobs declaring none), and the daemon's batch system
 * is the one the workflows it takes run on.
 */
export function toilVariableNotices(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  return [
    ...checkForeignOptions(
      {},
      FOREIGN_RUN_OPTIONS.filter((o) => o.envVar !== undefined),
      env,
    ),
    ...coordinationDirOverride(env),
  ];
}

/** Toil's default `--maxLogFileSize` (100 * 1024 * 1024 in toil/options/common.py). */
export const DEFAULT_MAX_LOG_FILE_SIZE = '100Mi';

/**
 * `--writeLogs [DIR]` / `--writeLogsGzip [DIR]`, `--writeLogsFromAllJobs`, `--maxLogFileSize`:
 * how the run writes job log files, or undefined without either flag. The directory is made and
 * checked here, so an unwritable one refuses the run (exit 2) before it starts.
 */
export function jobLogFilesOptions(flags: object): JobLogFilesOptions | undefined {
  const f = flags as {
    writeLogs?: string | true;
    writeLogsGzip?: string | true;
    writeLogsFromAllJobs?: string | true;
    maxLogFileSize?: string;
  };
  const fromAll = f.writeLogsFromAllJobs;
  if (typeof fromAll === 'string' && !/^(true|false|yes|no|1|0)$/i.test(fromAll))
    throw new UserInputError('BAD_FLAG', `--writeLogsFromAllJobs ${fromAll}: expected true or false`);
  // Toil's: negative keeps the start of a log instead of its end.
  const sizeText = f.maxLogFileSize ?? DEFAULT_MAX_LOG_FILE_SIZE;
  const negative = /^\s*-/.test(sizeText);
  const size = tryParseBytes(negative ? sizeText.replace(/^\s*-/, '') : sizeText);
  if (size === undefined)
    throw new UserInputError(
      'BAD_FLAG',
      `--maxLogFileSize ${f.maxLogFileSize}: expected a size like 64000 or 1Mi (${SIZE_SUFFIXES}; 0: no limit; negative, e.g. -1Mi: keep the start of each log instead of its end)`,
    );
  const maxBytes = negative ? -size : size;
  if (f.writeLogs !== undefined && f.writeLogsGzip !== undefined)
    throw new UserInputError('BAD_FLAG', '--writeLogs and --writeLogsGzip: give one of them');
  const given = f.writeLogs ?? f.writeLogsGzip;
  if (given === undefined) return undefined;
  const flag = f.writeLogs !== undefined ? '--writeLogs' : '--writeLogsGzip';
  const level = logLevelOf(flags).toLowerCase();
  return openJobLogDir(
    {
      dir: given === true ? process.cwd() : given,
      gzip: f.writeLogsGzip !== undefined,
      maxBytes,
      allJobs: fromAll === true || isTrue(fromAll) || level === 'debug' || level === 'trace',
    },
    flag,
  );
}

const isTrue = (v: string | undefined): boolean => v !== undefined && /^(true|yes|1)$/i.test(v);

/** What `toil run` writes to: stderr (with `--logFile` beside it) and the logger over both. */
export interface RunOutput {
  readonly console: ConsoleOutput;
  readonly log: Logger;
  /** Closes `--logFile` (after the last line). */
  readonly close: () => void;
  /** Appends a line to `--logFile` alone (one the caller's caller prints on stderr). */
  readonly fileLine: (line: string) => void;
}

/**
 * The run's console and logger as its flags ask (`--logLevel` or a `--log<Level>` switch,
 * `--logFile`, `--disableProgress`), with one line for each Toil option it ignores printed first
 * (after, in the log file, the lines said before it opened: noticeBeforeLogFile).
 */
export function runOutput(
  flags: object,
  clock: Clock,
  /** Off a terminal, a progress line at most this often (ConsoleOutput's default otherwise). */
  progressLineEveryMs?: number,
): RunOutput {
  const f = flags as { logFile?: string; disableProgress?: boolean; batchSystem?: string };
  const notices = foreignToilOptions(flags).filter(
    (n) => f.batchSystem !== 'slurm' || !n.startsWith('toil: --noStdOutErr '),
  );
  notices.push(...coordinationDirOverride(process.env));
  const g = flags as Record<string, unknown>;
  if (g['writeLogs'] === undefined && g['writeLogsGzip'] === undefined)
    for (const flag of ['writeLogsFromAllJobs', 'maxLogFileSize'])
      if (g[flag] !== undefined)
        notices.push(`toil: --${flag} has no effect here: it tunes --writeLogs and --writeLogsGzip`);
  // Toil's text: it "only applies when using scalable batch systems".
  if (g['clusterStats'] !== undefined && (g['provisioner'] === undefined || g['leader'] !== undefined))
    notices.push(
      g['leader'] !== undefined
        ? 'toil: --clusterStats has no effect with --leader: the leader daemon scales the cluster, and its /status and /metrics show it'
        : 'toil: --clusterStats has no effect here: it applies only to an autoscaled run (--provisioner aws); this run scales nothing',
    );
  const file = openLogFile(f.logFile);
  // Already on stderr: the file gets them alone, ahead of every line after.
  for (const line of takeEarlyNotices()) file?.write(line);
  const console = new ConsoleOutput(process.stderr, clock, {
    ...(file ? { copyTo: file.write } : {}),
    progress: f.disableProgress !== true,
    ...(progressLineEveryMs !== undefined ? { progressLineEveryMs } : {}),
  });
  for (const n of notices) console.line(n);
  const level = logLevelOf(flags);
  const log = createLogger({ level: toPinoLevel(level) ?? 'info', destination: console.logDestination() });
  return { console, log, close: () => file?.close(), fileLine: (line) => file?.write(line) };
}

/**
 * `--logFile PATH`: a sink that appends each printed log line to the file as it is printed
 * (synchronously, so a leader that crashes has logged up to its last line). A path that cannot be
 * opened is the user's mistake, named with the flag.
 */
export function openLogFile(
  path: string | undefined,
): { write: (line: string) => void; close: () => void } | undefined {
  if (path === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (e) {
    throw new UserInputError(
      'BAD_FLAG',
      `--logFile ${path}: cannot be opened for appending (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return {
    write: (line) => void writeSync(fd, `${line}\n`),
    close: () => closeSync(fd),
  };
}
