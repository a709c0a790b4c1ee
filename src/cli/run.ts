import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { RealClock } from '../common/clock.js';
import {
  applyRunConfigFiles,
  configFileOrigin,
  defaultConfigPath,
  leaveOutDefaultFileValues,
  namingConfigFileErrors,
} from './runConfigFile.js';
import { UserInputError, coerceError } from '../common/errors.js';
import { LOG_LEVEL_SPELLINGS } from '../common/log.js';
import { countOf, decimalNumber, formatDuration, SIZE_SUFFIXES, tryParseBytes } from '../common/units.js';
import { WorkflowKilledError } from '../leader/killRequest.js';
import type { CleanPolicy } from '../leader/runWorkflow.js';
import type { WorkflowProgress } from '../leader/workflowRunner.js';
import { startedProgress } from '../leader/startedProgress.js';
import { WorkflowFinishError, WorkflowStartError } from '../workflow/workflowCode.js';
import { exitProcess } from '../workflow/exitTrap.js';
import { forcedExitCleanup, forcedExitReleases } from '../common/forcedExit.js';
import { editDistance, suggestNames } from '../common/suggest.js';
import { parseLocator } from '../jobstore/locator.js';
import { firstLine } from '../workflow/jobError.js';
import type { SubCommand } from './main.js';
import { exitWhenDone } from './exitWhenDone.js';
import { noticeBeforeLogFile } from './earlyNotices.js';
import { WorkflowInterruptedError, onStopSignals, signalExitCode } from './untilSignal.js';
import { collect } from '../provisioner/cluster/cliSupport.js';
import {
  addAutoscalingOptions,
  autoscalingFlagsGiven,
  type AutoscalingFlags,
} from './runAutoscaledOptions.js';
import type { JobLogFilesOptions } from '../leader/jobLogFiles.js';
import type { JobDefaults } from '../leader/submission.js';
import type { SlurmBatchSystem } from '../slurm/batchSystem.js';
import type { SlurmRunFlags } from '../slurm/slurmFlags.js';
import { assertMesosAnswers, mesosMasterFlag, mesosMasterUnused, mesosMasterUrl } from './mesosMasterFlag.js';
import { addToilRunOptions, foreignToilOptions, jobLogFilesOptions, runOutput } from './toilRunOptions.js';

export interface RunFlags extends AutoscalingFlags, SlurmRunFlags {
  restart?: boolean;
  clean: string;
  retryCount: string;
  servicePollingInterval: string;
  deadlockWait: string;
  maxJobDuration?: string;
  stopOnFirstFailure?: string | boolean;
  maxServiceJobs?: string;
  maxPreemptableServiceJobs?: string;
  maxPreemptibleServiceJobs?: string;
  maxJobs?: string;
  preemptableRetries: string;
  preemptibleRetries?: string;
  enableUnlimitedPreemptibleRetries?: string | boolean;
  enableUnlimitedPreemptableRetries?: string | boolean;
  logLevel?: string;
  logFile?: string;
  stats?: boolean;
  setEnv?: string[];
  disableProgress?: boolean;
  batchSystem: string;
  maxCores?: string;
  maxMemory?: string;
  scale?: string;
  maxDisk?: string;
  defaultCores: string;
  defaultMemory: string;
  defaultDisk: string;
  defaultPreemptable?: string | boolean;
  defaultPreemptible?: string | boolean;
  mesosMaster?: string;
  mesosEndpoint?: string;
  slurmPartition?: string;
  workDir?: string;
  freshWorkers?: boolean;
  leader?: string;
  leaderToken?: string;
  writeLogs?: string | true;
  writeLogsGzip?: string | true;
  writeLogsFromAllJobs?: string | true;
  maxLogFileSize?: string;
  writeMessages?: string;
  clusterStats?: string | true;
}

const CLEAN_POLICIES: readonly CleanPolicy[] = ['always', 'onSuccess', 'onError', 'never'];

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const runCommand = program
      .command('run')
      .description(
        'Run a workflow: bundle WORKFLOW into the job store JOBSTORE (file:PATH or aws:REGION:NAME) and run its jobs. ' +
          'Arguments that are not toil options are passed to the workflow.',
      )
      .argument(
        '<workflow>',
        'the workflow module (.ts or .js) whose default export is defineWorkflow({...})',
      )
      .argument(
        '<jobStore>',
        'where the workflow keeps its state: file:PATH, a bare path, or aws:REGION:NAME',
      )
      .argument('[workflowArgs...]', "the workflow's own arguments (e.g. --numLines 1000)")
      .option('--restart', 'resume the workflow in an existing job store after a crash or failure')
      .option(
        '--config <file>',
        "Toil's config file: a YAML file of these options (`toil config FILE` writes one); the command line wins over it, and it over $HOME/.toil/default.yaml",
      )
      .option('--clean <when>', `delete the job store at the end: ${CLEAN_POLICIES.join('|')}`, 'onSuccess')
      .option('--retryCount <n>', 'times a failed job is tried again', '1')
      .option(
        '--servicePollingInterval <seconds>',
        "how often a service job checks its service and the leader's stop request",
        '1',
      )
      .option(
        '--deadlockWait <seconds>',
        'how long every running job may be a service while other jobs wait for room before the run is declared service deadlocked',
        '60',
      )
      .option(
        '--stopOnFirstFailure [bool]',
        'stop the workflow at the first job that fails for good (its --retryCount spent): its running jobs are killed and the job store kept for --restart',
      )
      .option(
        '--maxJobDuration <seconds>',
        'how long a job may run before it is killed, which counts as a failed attempt (--retryCount tries it again); services are not limited (default: no limit)',
      )
      .option(
        '--maxServiceJobs <n>',
        'the most service jobs run at once, excluding those that may run on spot (preemptable: true); default no limit',
      )
      .option(
        '--maxPreemptableServiceJobs <n>',
        'the most service jobs that may run on spot (preemptable: true) run at once; default no limit',
      )
      .addOption(new Option('--maxPreemptibleServiceJobs <n>').hideHelp())
      .option(
        '--maxJobs <n>',
        'the most jobs issued to the batch system at once (services included); more wait in the leader, oldest first, until one ends; 0: no limit (the default)',
      )
      .option(
        '-e, --setEnv <NAME=VALUE>',
        "set a variable in every job's environment; NAME alone takes this shell's value (repeatable)",
        collect,
        [],
      )
      .option('--stats', 'keep the job store at the end (whatever --clean says) for `toil stats JOBSTORE`')
      .option(
        '--preemptableRetries <n>',
        'times a job lost with its spot node runs on spot again (no retry spent) before it runs on on-demand',
        '3',
      )
      .addOption(new Option('--preemptibleRetries <n>').hideHelp())
      // Toil's takes a value (`--enableUnlimitedPreemptibleRetries True`); without one it is on.
      .option(
        '--enableUnlimitedPreemptibleRetries [bool]',
        'a job lost with its spot node always runs on spot again',
      )
      .addOption(new Option('--enableUnlimitedPreemptableRetries [bool]').hideHelp())
      .addOption(
        new Option(
          '--logLevel <level>',
          "log level (default info; Toil's --logCritical, --logError, --logWarning, --logInfo, --logDebug, --logTrace and --logOff also work)",
        ).choices(LOG_LEVEL_SPELLINGS),
      )
      .option('--batchSystem <name>', 'single_machine, mesos or slurm', 'single_machine')
      .option(
        '--maxCores <n>',
        'the most cores one job may ask for: a job asking for more is refused, on every batch system; single_machine: also the cores used at once (default: all of this machine)',
      )
      .option(
        '--maxMemory <size>',
        'the most memory one job may ask for, e.g. 8G: a job asking for more is refused, on every batch system; single_machine: also the memory used at once (default: all of this machine)',
      )
      .option(
        '--maxDisk <size>',
        'the most disk one job may ask for: a job asking for more is refused, on every batch system; single_machine: also the disk used at once (default: the work directory file system)',
      )
      .option(
        '--scale <factor>',
        "single_machine: count each job's cores times this, e.g. 0.5 to run a workflow written for bigger machines (default 1)",
      )
      .option('--defaultCores <n>', 'cores of a job that declares none', '1')
      .option('--defaultMemory <size>', 'memory of a job that declares none', '2Gi')
      .option('--defaultDisk <size>', 'disk of a job that declares none', '2Gi')
      .option('--defaultPreemptable [bool]', 'jobs that declare nothing may run on preemptable (spot) nodes')
      .addOption(new Option('--defaultPreemptible [bool]').hideHelp())
      .option(
        '--mesosMaster <host:port>',
        "mesos: the Mesos master (default: 127.0.0.1:5050; with --provisioner aws, Toil's default, the cluster leader's own address: its private IP, port 5050)",
      )
      .option('--mesosEndpoint <host:port>', 'mesos: alias of --mesosMaster')
      .option(
        '--slurmPartition <name>',
        'slurm: the partition jobs go to (default: the cluster default; SLURM_CONF names the cluster)',
      )
      .option(
        '--slurmArgs <args>',
        'slurm: more sbatch flags, given last so they win (default: TOIL_SLURM_ARGS)',
      )
      .option('--slurmTime <[DD-]HH:MM:SS>', 'slurm: the time limit of jobs that declare no walltime')
      .option('--slurmQOS <qos>', 'slurm: the quality of service jobs ask for')
      .option('--slurmPE <partition>', 'slurm: the partition of jobs asking for more than one core')
      .option(
        '--slurmAllocateMem <bool>',
        'slurm: false: ask Slurm for no memory (clusters that refuse --mem)',
      )
      // Toil keeps its older spellings of --slurmAllocateMem (HPC scripts still pass them): each
      // sets the same setting, the last one given winning, as argparse's shared dest does.
      .addOption(new Option('--dont_allocate_mem', 'same as --slurmAllocateMem false').hideHelp())
      .addOption(new Option('--allocate_mem', 'same as --slurmAllocateMem true').hideHelp())
      .on('option:dont_allocate_mem', function (this: Command) {
        this.setOptionValue('slurmAllocateMem', false);
      })
      .on('option:allocate_mem', function (this: Command) {
        this.setOptionValue('slurmAllocateMem', true);
      })
      .option(
        '--batchLogsDir <dir>',
        "slurm: write each job's stdout and stderr to files here, named as Toil names them (a directory every node shares)",
      )
      .option(
        '--workDir <dir>',
        'local scratch space for the leader and its jobs (default: TOIL_WORKDIR, else the OS temp dir; TOIL_WORKDIR_OVERRIDE wins over both; it must exist)',
      )
      .option('--freshWorkers', 'single_machine: start a new worker process per job, as a cluster node does')
      .option(
        '--leader <url>',
        'submit the workflow to a running `toil leader` (e.g. http://127.0.0.1:8080) and follow it there',
      )
      .option(
        '--leaderToken <token>',
        "--leader: the leader's bearer token (default: $TOIL_LEADER_TOKEN, or the file $TOIL_LEADER_TOKEN_FILE names)",
      )
      .allowUnknownOption()
      .allowExcessArguments();
    // Toil's config files fill in what the command line left out, before any option is read.
    runCommand.hook('preAction', (cmd) => applyRunConfigFiles(cmd, noticeBeforeLogFile));
    addToilRunOptions(addAutoscalingOptions(runCommand)).action(
      namingConfigFileErrors(
        runCommand,
        async (workflow: string, jobStore: string, workflowArgs: string[], flags: RunFlags) => {
          // An option before the job store (`toil run wf.ts --jobStore file:js`, a misspelt flag)
          // fills the job store's place, since unknown options are the workflow's: a store named
          // `./--jobStore` was made. Toil's argparse refuses an unknown option there too.
          if (jobStore.startsWith('-'))
            throw new UserInputError(
              'JOBSTORE_BAD_LOCATOR',
              `job store '${jobStore}': an option, not a job store: toil run takes the workflow file, then the job store (file:PATH, a path, aws:REGION:NAME), then options (e.g. toil run ${workflow} file:./js --retryCount 3)`,
            );
          // `--restart=yes`: a toil switch given a value is no option commander knows, so it went to
          // the workflow, and a new workflow started where a restart was meant. Toil's argparse
          // refuses a value to its switches (store_true, store_false, store_const: "ignored explicit
          // argument"); the ones that take an optional true/false are options with an optional
          // value here, which commander reads, so every switch left is one of the refused kind.
          const switches = new Set(
            runCommand.options.flatMap((o) => (o.long && !o.required && !o.optional ? [o.long] : [])),
          );
          for (const a of workflowArgs) {
            const given = /^(--[^=]+)=/.exec(a)?.[1];
            if (given && switches.has(given))
              throw new UserInputError(
                'BAD_FLAG',
                `${a}: ${given} takes no value, as in Toil: give ${given} alone, or leave it out`,
              );
          }
          // A locator that cannot name a job store is the user's one mistake: refused before any
          // warning of the flags, which would have come first, for a store no run could use.
          parseLocator(jobStore);
          // A Toil option toil-ts refuses ends the run before anything starts, in every mode.
          foreignToilOptions(flags);
          const overridden = cleanOverriddenByStats(flags, runCommand);
          if (overridden !== undefined) noticeBeforeLogFile(overridden);
          if (flags.leader !== undefined) {
            const left = leaveOutDefaultFileValues(runCommand, flags, ONLY_THIS_PROCESS_HONOURS);
            if (left.length > 0)
              noticeBeforeLogFile(
                `toil: ${defaultConfigPath()}: ${left.join(', ')}: left out with --leader (this machine's defaults; the leader daemon keeps its own)`,
              );
            refuseFlagsOnlyThisProcessHonours(flags);
          }
          const jobLogs = jobLogFilesOptions(flags);
          const toilFlags = runCommand.options.flatMap((o) => (o.long ? [o.long] : []));
          const hint = (message: string): string => toilFlagHint(message, workflowArgs, toilFlags);
          for (const line of toilFlagLookalikes(workflowArgs, toilFlags)) noticeBeforeLogFile(line);
          const slurmOnly = slurmOnlyFlags(flags);
          if (slurmOnly.length > 0 && flags.leader !== undefined)
            throw new UserInputError(
              'BAD_FLAG',
              `${slurmOnly.join(', ')}: the leader daemon's Slurm settings hold for every workflow it runs, not one submission; ` +
                `set them in its config (batchSystem.slurmTime, slurmArgs, slurmQOS, slurmPE, slurmAllocateMem, batchLogsDir) or TOIL_SLURM_ARGS where it runs`,
            );
          if (flags.leader !== undefined) {
            const { runOnLeader, leaderToken } = await import('./runAutoscaledOnLeader.js');
            const token = await leaderToken(flags.leaderToken);
            setExitCode(
              await runOnLeader(flags.leader, token, workflow, jobStore, workflowArgs, flags, {
                takenNotices: toilFlagTypos(workflowArgs, toilFlags),
                hint,
              }),
            );
            return;
          }
          if (flags.provisioner !== undefined) {
            const { runAutoscaled } = await import('./runAutoscaled.js');
            setExitCode(
              await runAutoscaled(
                workflow,
                jobStore,
                workflowArgs,
                flags,
                hint,
                jobLogs,
                toilFlagTypos(workflowArgs, toilFlags),
              ),
            );
            return;
          }
          try {
            setExitCode(
              await run(
                workflow,
                jobStore,
                workflowArgs,
                flags,
                jobLogs,
                toilFlagTypos(workflowArgs, toilFlags),
              ),
            );
          } catch (e) {
            if (e instanceof WorkflowStartError) throw new UserInputError(e.code, hint(e.message), e.details);
            if (e instanceof WorkflowFinishError) {
              process.stderr.write(`toil: ${e.message}\n${finishFailedNext(jobStore, flags)}\n`);
              setExitCode(1);
              return;
            }
            if (!(e instanceof WorkflowKilledError)) throw e;
            // Asked for, not a crash: one line, exit 1 (the workflow did not finish).
            process.stderr.write(`toil: ${e.message}\n`);
            setExitCode(1);
          }
        },
      ),
    );
  },
};

/**
 * With --leader the daemon runs the workflow: a flag only a leader in this process could honour is
 * refused, naming where its effect is had instead, rather than dropped without a word.
 */
export function refuseFlagsOnlyThisProcessHonours(
  flags: Pick<RunFlags, 'writeLogs' | 'writeLogsGzip' | 'writeMessages' | 'workDir'>,
): void {
  if ((flags.writeLogs ?? flags.writeLogsGzip) !== undefined)
    throw new UserInputError(
      'UNSUPPORTED_TOIL_OPTION',
      `${flags.writeLogs !== undefined ? '--writeLogs' : '--writeLogsGzip'}: with --leader the leader's process learns of the jobs' ends, not this one; a failed job's log is in the job store (logs/<jobId>/<attempt>) and in the leader's log; run without it`,
    );
  if (flags.writeMessages !== undefined)
    throw new UserInputError(
      'UNSUPPORTED_TOIL_OPTION',
      "--writeMessages: with --leader the leader's process sees the jobs' events, not this one; its log and GET /workflows/:id show them; run without it",
    );
  // Only the flag is a request: this shell's TOIL_WORKDIR is not sent, and is no reason to refuse.
  if (flags.workDir !== undefined)
    throw new UserInputError(
      'UNSUPPORTED_TOIL_OPTION',
      `--workDir ${flags.workDir}: with --leader no scratch space is on this machine: the leader daemon's is its own TOIL_WORKDIR (TOIL_WORKDIR_OVERRIDE wins over it), its jobs' the TOIL_WORKDIR of the nodes they run on; set it there, and run without --workDir`,
    );
}

/**
 * What became of the job store of a failed run, and what the user does next: --clean always and
 * onError delete it (the run was told it was kept, and to --restart, when it was gone).
 */
export function failedRunStore(jobStore: string, clean: CleanPolicy, committed: boolean): string {
  if (clean === 'always' || clean === 'onError')
    return `toil: the job store ${jobStore} was deleted (--clean ${clean}); fix the cause and run the workflow again`;
  if (committed)
    return `toil: the job store ${jobStore} is kept, but --restart cannot help: what failed (a job's input, or the workflow's result) is built from values jobs already committed, which a restart does not change; fix the workflow (what a job returns, or the promise's path) and run it anew (toil clean ${jobStore} first, or another job store)`;
  return `toil: the job store ${jobStore} is kept; fix the cause and run again with --restart`;
}

/** What a user does after the workflow's finish failed: its job store holds every job's result. */
function finishFailedNext(jobStore: string, f: RunFlags): string {
  const clean = parseCleanPolicy(f);
  return clean === 'always' || clean === 'onError'
    ? `toil: every job ran, but the job store ${jobStore} was deleted (--clean ${clean}); fix the cause and run the workflow again`
    : `toil: every job ran and the job store ${jobStore} is kept; fix the cause and run again with --restart: no job runs again, finish() does`;
}

async function run(
  workflowFile: string,
  jobStoreText: string,
  args: string[],
  f: RunFlags,
  jobLogs: JobLogFilesOptions | undefined,
  /** The lines to say once the workflow took its arguments (toilFlagTypos). */
  argsTakenNotices: readonly string[] = [],
): Promise<number> {
  const clean = parseCleanPolicy(f);
  const retryCount = parseCount('--retryCount', f.retryCount);
  const servicePollMs = parseSeconds('--servicePollingInterval', f.servicePollingInterval) * 1000;
  const deadlockWaitMs = parseSeconds('--deadlockWait', f.deadlockWait) * 1000;
  const maxJobDuration = parseMaxJobDuration(f);
  const serviceLimits = parseServiceLimits(f);
  const maxJobs = parseMaxJobs(f);
  const preemptableRetries = parsePreemptableRetries(f);
  const limits = parseJobLimits(f);
  const batchSystemName = f.batchSystem;
  if (batchSystemName !== 'single_machine' && batchSystemName !== 'mesos' && batchSystemName !== 'slurm') {
    throw new UserInputError(
      'BAD_FLAG',
      `--batchSystem ${batchSystemName}: expected single_machine, mesos or slurm`,
    );
  }
  const defaultPreemptable = givenDefaultPreemptable(f) ?? false;
  const defaults = { ...parseJobDefaults(f), preemptable: defaultPreemptable };
  const coreScale = f.scale !== undefined ? parseCoreScale(f.scale) : undefined;
  const ignoredScalingFlags = await checkIgnoredScalingFlags(f);
  // The leader's modules (the job stores, the batch systems, the bundler) load once the flags are
  // known good: a run refused for one of toil's own flags ends without them.
  const [
    { runWorkflow },
    { DEFAULT_MESOS_MASTER, createBatchSystem, workerCommand },
    { prepareWorkDir },
    { openJobStore, KILL_WATCH_THREAD },
    { failedJobHeadline },
    { jobLogWriter },
    { openMessageFile },
    { MesosBatchSystem },
    { SlurmBatchSystem },
    { parseSlurmFlags, slurmPartitionOf },
    { endAbandonedWorkflowCode, runningWorkflowCall },
  ] = await Promise.all([
    import('../leader/runWorkflow.js'),
    import('../main/batchSystems.js'),
    import('../main/env.js'),
    import('../main/jobStores.js'),
    import('../leader/workflowRunner.js'),
    import('../leader/jobLogFiles.js'),
    import('../leader/messageFile.js'),
    import('../mesos/batchSystem.js'),
    import('../slurm/batchSystem.js'),
    import('../slurm/slurmFlags.js'),
    import('../workflow/workflowCode.js'),
  ]);
  const clock = new RealClock();
  const { console, log, close, fileLine } = runOutput(f, clock);
  const messages = f.writeMessages !== undefined ? openMessageFile(f.writeMessages) : undefined;
  // A first SIGINT (Ctrl-C) or SIGTERM stops the run as `toil kill` does: its running jobs are
  // killed, the store's lease released and the scratch removed, so `toil status` says it stopped
  // and --restart resumes it at once. A second one exits at once.
  const interrupt = new AbortController();
  /** The run's last progress: what a stop has to kill is what it says was issued. */
  let lastProgress: WorkflowProgress | undefined;
  /** Its jobs started on a node told apart from those queued, once the batch system exists. */
  let shown = (p: WorkflowProgress): WorkflowProgress => p;
  let redraw: NodeJS.Timeout | undefined;
  /** Before the run's last lines: the progress line is done, and no redraw may come after them. */
  const endProgress = (): void => {
    clearInterval(redraw);
    console.endProgress();
  };
  /** A second signal's exit, once it has given the job store's lease up: nothing else ends the run. */
  let exitingAtOnce: Promise<never> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A third while the second gives the lease up: no more waiting.
    if (exitingAtOnce) exitProcess(signalExitCode(signal));
    if (interrupt.signal.aborted) {
      // Its workers killed and their scratch removed first, synchronously: exiting at once left
      // the jobs' scratch under the work directory, which no later run removed. Then the lease,
      // a write to the store: kept, a leader on another machine waited for it to expire.
      const { killed, strays, left } = forcedExitCleanup();
      endProgress();
      exitingAtOnce = forcedExitReleases().then(({ released, left: held }) => {
        const leftBehind = [...left, ...held];
        console.line(
          `toil: ${signal} again: exiting at once` +
            forcedKills(killed, strays) +
            (left.length === 0 ? ', its scratch removed' : '') +
            (released > 0 ? ", the job store's lease released" : '') +
            (leftBehind.length === 0 ? '' : `; left behind: ${leftBehind.join('; ')}`),
        );
        // The process's own exit: a workflow's start() or finish() may hold process.exit trapped.
        return exitProcess(signalExitCode(signal));
      });
      return;
    }
    // In the workflow's start() no job exists yet, in its finish() every job has run: what stops
    // then is that call and what it started.
    const call = runningWorkflowCall();
    console.line(
      call
        ? `toil: ${signal}: stopping the workflow: abandoning its ${call}() and ending the processes it started (${signal} again to exit at once)`
        : `toil: ${signal}: stopping the workflow${issuedJobsToStop(lastProgress && shown(lastProgress))} (${signal} again to exit at once)`,
    );
    interrupt.abort(new WorkflowInterruptedError(signal));
  };
  const offSignals = onStopSignals(onSignal);
  if (coreScale !== undefined && batchSystemName !== 'single_machine')
    console.line(
      `toil: --scale has no effect with --batchSystem ${batchSystemName}: it scales the cores of jobs the single_machine batch system runs`,
    );
  if (ignoredScalingFlags.length > 0)
    console.line(
      `toil: ${ignoredScalingFlags.join(', ')} ${ignoredScalingFlags.length === 1 ? 'takes' : 'take'} effect only with --provisioner aws; this run scales nothing (--batchSystem ${batchSystemName})`,
    );
  try {
    const store = openJobStore(jobStoreText, { log, clock });
    const slurm = batchSystemName === 'slurm' ? parseSlurmFlags(f, process.env) : undefined;
    const slurmPartition = slurmPartitionOf(f.slurmPartition, process.env);
    const slurmNote = slurmFlagsUnused(f);
    if (slurmNote) console.line(slurmNote);
    const mesosNote = mesosMasterUnused(batchSystemName, f);
    if (mesosNote) console.line(mesosNote);
    const master = batchSystemName === 'mesos' ? mesosMasterFlag(f) : undefined;
    if (master) mesosMasterUrl(master);
    const mesosMaster = master?.address;
    const workDir = await prepareWorkDir(f.workDir);
    // Only a --workDir the user gave goes to the workers: otherwise each worker's own environment
    // (TOIL_WORKDIR of its node) decides, as in Toil.
    const workerWorkDir = f.workDir !== undefined ? workDir : undefined;
    const batchSystem = createBatchSystem(batchSystemName, {
      clock,
      log,
      ...limits,
      ...(coreScale !== undefined ? { coreScale } : {}),
      ...(f.freshWorkers ? { warmWorkers: false } : {}),
      ...(mesosMaster !== undefined ? { mesosMaster } : {}),
      ...(slurmPartition !== undefined ? { slurmPartition } : {}),
      ...(slurm ? { slurm } : {}),
      workDir,
      jobStore: store,
      notice: (line) => console.line(line),
    });
    shown = (p) => startedProgress(p, batchSystem);
    // A job the batch system starts (Slurm's PENDING to RUNNING) is no update of the run's: the
    // counts are read again while it runs, so a queued job is not shown running.
    redraw = setInterval(() => lastProgress && console.progress(shown(lastProgress)), PROGRESS_REDRAW_MS);
    redraw.unref();
    if (batchSystem instanceof SlurmBatchSystem) {
      await assertSlurmAnswers(batchSystem);
      await assertSlurmPartitions(batchSystem, [
        [f.slurmPartition !== undefined ? '--slurmPartition' : 'TOIL_SLURM_PARTITION', slurmPartition],
        [f.slurmPE !== undefined ? '--slurmPE' : 'TOIL_SLURM_PE', slurm?.jobFlags.multiCorePartition],
      ]);
    }
    if (batchSystem instanceof MesosBatchSystem)
      await assertMesosAnswers(
        () => batchSystem.ping(),
        master ?? { flag: '--mesosMaster', address: DEFAULT_MESOS_MASTER },
      );
    const outcome = await runWorkflow({
      signal: interrupt.signal,
      store,
      killWatchThread: KILL_WATCH_THREAD,
      workflowFile: resolve(workflowFile),
      args,
      restart: Boolean(f.restart),
      restartWithFile: true,
      clean,
      retryCount,
      preemptableRetries,
      servicePollMs,
      deadlockWaitMs,
      ...maxJobDuration,
      ...stopOnFirstFailureOf(f),
      ...serviceLimits,
      ...maxJobs,
      // --scale counts a job's cores smaller on single_machine only (elsewhere it is said to have no effect).
      jobLimits: {
        ...limits,
        ...(coreScale !== undefined && batchSystemName === 'single_machine' ? { coreScale } : {}),
      },
      env: parseSetEnv(f.setEnv),
      defaults,
      batchSystem,
      clock,
      log,
      workerCommand: (locator, jobId, attempt) => workerCommand(locator, jobId, attempt, workerWorkDir),
      workDir,
      removeOwnTraces: true,
      onProgress: (p) => {
        lastProgress = p;
        console.progress(shown(p));
      },
      // A progress bar left on the terminal, and redrawn, takes the line finish() prints to stdout.
      onFinishing: endProgress,
      onArgsTaken: () => {
        for (const line of argsTakenNotices) console.line(line);
      },
      ...(jobLogs ? { onJobLog: jobLogWriter(jobLogs, log) } : {}),
      ...(messages ? { onJobEvent: messages.write } : {}),
    });
    // The run ended while a second signal gives the lease up: that exit says how it ended.
    if (exitingAtOnce) await exitingAtOnce;
    endProgress();
    const secs = Math.max(outcome.elapsedMs, 1) / 1000;
    if (outcome.status === 'succeeded') {
      console.line(
        `toil: workflow succeeded: ${countOf(outcome.jobsRun, 'job')} run${outcome.replayed ? ` (${outcome.replayed} already done before --restart)` : ''} in ${formatDuration(outcome.elapsedMs)} (${(outcome.jobsRun / secs).toFixed(1)} jobs/s)`,
      );
      if (f.stats) console.line(`toil: the job store is kept for: toil stats ${jobStoreText}`);
      return 0;
    }
    console.line(`toil: workflow failed: ${outcome.failures.length} job(s) failed for good`);
    // The stack was logged once as the job failed for good; the summary names each job and its error.
    for (const fail of outcome.failures) {
      console.line(`toil: ${failedJobHeadline(fail)}: ${firstLine(fail.reason)}`);
      if (fail.neverRan) console.line(`toil:   because of it, ${fail.neverRan}`);
    }
    // With committed values a restart runs none of those jobs again: it would rebuild the same
    // result from the same values and fail the same way.
    console.line(
      failedRunStore(
        jobStoreText,
        clean,
        outcome.failures.some((fail) => fail.committed),
      ),
    );
    return 1;
  } catch (e) {
    if (exitingAtOnce) await exitingAtOnce;
    if (!(e instanceof WorkflowInterruptedError)) {
      // The command's own handler prints why the run ended, on stderr alone: --logFile, which
      // holds every line the run printed, gets it too, or a log read later ends without a reason.
      fileLine(`toil: ${coerceError(e).message}`);
      throw e;
    }
    endProgress();
    // The read the stop abandoned keeps its connection (and the warnings of its stall) up for as
    // long as the store stays silent: the process exits once it has said how the run ended.
    if (e.stoppedIn === 'store') exitWhenDone();
    console.line(
      e.storeDeletedBy !== undefined
        ? `toil: workflow ${e.message}`
        : e.stoppedIn === 'store'
          ? `toil: workflow ${e.message} while waiting for the job store ${jobStoreText} to answer, before the run held it: nothing of the run was written; run the same command again once the store answers`
          : e.stoppedIn === 'start'
            ? `toil: workflow ${e.message} before its start() returned; the job store ${jobStoreText} is kept, with no job in it yet: --restart starts the workflow in it`
            : e.stoppedIn === 'finish'
              ? `toil: workflow ${e.message} before its finish() returned; every job ran and the job store ${jobStoreText} is kept: --restart runs finish() again, and no job`
              : `toil: workflow ${e.message}; the job store ${jobStoreText} is kept: resume it with --restart`,
    );
    return signalExitCode(e.signal);
  } finally {
    // A start() or finish() the stop abandoned runs on in this process (a timer of its own keeps
    // Node's loop up for ever): once what it started is ended, the process exits as soon as it
    // has said how the run ended.
    if (await endAbandonedWorkflowCode()) exitWhenDone();
    endProgress();
    offSignals();
    messages?.close();
    close();
  }
}

/**
 * Before the job store is made: a Slurm controller this machine cannot reach (no slurm.conf, no
 * slurmctld, no Slurm installed) is its setup, said in one line with the way out, not an internal
 * error after the workflow started, which left a job store only --restart could use.
 */
async function assertSlurmAnswers(slurm: SlurmBatchSystem): Promise<void> {
  // Slurm's tools retry a missing slurm.conf for a minute before they fail: said at once.
  const conf = process.env.SLURM_CONF;
  if (conf && !existsSync(conf))
    throw new UserInputError(
      'BAD_FLAG',
      `--batchSystem slurm: SLURM_CONF ${conf} does not exist; set SLURM_CONF to the Slurm cluster's slurm.conf (or unset it for this machine's)`,
    );
  try {
    await slurm.ping();
  } catch (e) {
    const why = firstLine(e instanceof Error ? e.message : String(e));
    throw new UserInputError(
      'BAD_FLAG',
      `--batchSystem slurm: the Slurm controller does not answer (${why}) (expected a Slurm cluster this machine can reach: set SLURM_CONF to its slurm.conf, or start its slurmctld)`,
    );
  }
}

/**
 * A partition Slurm does not have (a typo in --slurmPartition, --slurmPE or their environment
 * variables) is one line naming it and the partitions there, before any job store is made,
 * rather than sbatch refusing the first job.
 */
export async function assertSlurmPartitions(
  slurm: SlurmBatchSystem,
  named: readonly (readonly [setting: string, partition: string | undefined])[],
): Promise<void> {
  const given = named.filter((n): n is readonly [string, string] => n[1] !== undefined);
  if (given.length === 0) return;
  const partitions = await slurm.partitions();
  for (const [setting, partition] of given)
    if (!partitions.includes(partition))
      throw new UserInputError(
        'BAD_FLAG',
        `${setting} ${partition}: the Slurm cluster has no such partition (its partitions: ${partitions.join(', ') || 'none'})`,
      );
}

/**
 * Arguments that go to the workflow because they are not toil's, yet are a toil option in another
 * case (`--retrycount`): Toil refuses them, and here they were silently left to the workflow, which
 * may never look (the run then went on with the default). One warning line each; the run goes on,
 * since the workflow may take such an option of its own. A start of a toil option (`--maxNode`,
 * which Toil's parser reads as --maxNodes) is left to the workflow's refusal, which names the
 * option meant (toilFlagHint): warned of up front too, a refused run said it twice.
 */
export function toilFlagLookalikes(args: readonly string[], toilFlags: readonly string[]): string[] {
  const lines: string[] = [];
  for (const flag of new Set(args.map((a) => a.split('=')[0]!))) {
    if (!/^--[A-Za-z]/.test(flag) || toilFlags.includes(flag)) continue;
    const meant = toilFlags.find((f) => f.toLowerCase() === flag.toLowerCase());
    if (meant)
      lines.push(
        `toil: ${flag} is not a toil option, so it goes to the workflow, not to toil (did you mean ${meant}?)`,
      );
  }
  return lines;
}

/**
 * The workflow refused an argument that is one typo away from a toil option (`--maxNode 3` for
 * `--maxNodes`): toil passed it on because it is not toil's, so say which one was meant.
 */
export function toilFlagHint(message: string, args: readonly string[], toilFlags: readonly string[]): string {
  const named = args
    .map((a) => a.split('=')[0]!)
    .filter((a) => /^--[A-Za-z]/.test(a) && !toilFlags.includes(a) && message.includes(a));
  for (const flag of named) {
    const [near] = suggestNames(flag, toilFlags, 1);
    if (near) return `${message} (${flag} is not a toil option; did you mean ${near}?)`;
  }
  return message;
}

/**
 * Workflow arguments one typo from a toil option (`--retryCont 3`, `--stat`) that the workflow
 * took: its start() returned, so it read no options or has one of that name. Either way toil
 * did not act on it, and a workflow that reads no options ran on with the default (a job store
 * `--stat` was to keep deleted at the end): one line each, said once the arguments are taken, so
 * a workflow's refusal (toilFlagHint) is the only word on one it refuses. A toil option in
 * another case is said up front (toilFlagLookalikes).
 */
export function toilFlagTypos(args: readonly string[], toilFlags: readonly string[]): string[] {
  const lines: string[] = [];
  for (const flag of new Set(args.map((a) => a.split('=')[0]!))) {
    if (!/^--[A-Za-z]/.test(flag) || toilFlags.some((f) => f.toLowerCase() === flag.toLowerCase())) continue;
    // One typo (a letter left out, added, changed or two swapped): a workflow's own option a
    // few letters from a toil option (--retries, --memory) is no typo of it.
    const meant = toilFlags.find((f) => editDistance(flag.toLowerCase(), f.toLowerCase()) === 1);
    if (meant)
      lines.push(
        `toil: ${flag} is not a toil option, so it went to the workflow, which took it; toil did not act on it (did you mean ${meant}?)`,
      );
  }
  return lines;
}

/**
 * Toil's `--setEnv NAME=VALUE` (repeatable; `NAME` alone takes the value this shell has): the
 * variables every job's process gets while it runs.
 */
export function parseSetEnv(given: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of given ?? []) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UserInputError(
        'BAD_FLAG',
        `--setEnv ${entry}: expected NAME=VALUE or NAME, with NAME letters, digits and _ (not starting with a digit)`,
      );
    const value = eq < 0 ? process.env[name] : entry.slice(eq + 1);
    if (value === undefined)
      throw new UserInputError(
        'BAD_FLAG',
        `--setEnv ${entry}: ${name} is not set in this environment (give NAME=VALUE)`,
      );
    env[name] = value;
  }
  return env;
}

/** `--clean WHEN`; with `--stats` the job store is kept for `toil stats`, as Toil keeps it. */
export function parseCleanPolicy(f: RunFlags): CleanPolicy {
  const clean = f.clean as CleanPolicy;
  if (!CLEAN_POLICIES.includes(clean))
    throw new UserInputError('BAD_FLAG', `--clean ${f.clean}: expected one of ${CLEAN_POLICIES.join(', ')}`);
  return f.stats ? 'never' : clean;
}

/**
 * Toil's warning for `--stats` beside a `--clean` that would delete the job store (always,
 * onError, onSuccess, typed or from a config file): the store is kept for `toil stats`, as with
 * --clean never, said before the run starts, since the user asked for it to go.
 */
export function cleanOverriddenByStats(f: RunFlags, cmd: Command): string | undefined {
  const source = cmd.getOptionValueSource('clean');
  if (!f.stats || f.clean === 'never' || (source !== 'cli' && source !== 'config')) return undefined;
  const where = configFileOrigin(cmd, '--clean');
  return `toil: --clean ${f.clean}${where !== undefined ? ` (set in ${where})` : ''} contradicts --stats, which needs the job store intact at the end of the run for 'toil stats': the job store is kept, as with --clean never`;
}

/** `--preemptableRetries N` (Toil: `--enableUnlimitedPreemptibleRetries` for no limit). */
export function parsePreemptableRetries(f: RunFlags): number {
  for (const [flag, v] of [
    ['--enableUnlimitedPreemptibleRetries', f.enableUnlimitedPreemptibleRetries],
    ['--enableUnlimitedPreemptableRetries', f.enableUnlimitedPreemptableRetries],
  ] as const)
    if (v !== undefined && parseBool(flag, v)) return Number.POSITIVE_INFINITY;
  const given = f.preemptibleRetries ?? f.preemptableRetries;
  return parseCount(
    f.preemptibleRetries !== undefined ? '--preemptibleRetries' : '--preemptableRetries',
    given,
  );
}

/**
 * Toil ignores the autoscaling flags without --provisioner; so does this run, but it says so
 * (a forgotten --provisioner would otherwise run on one machine unnoticed) and still refuses a
 * value that would be wrong with it, naming the flag. Checked against us-west-2's catalogue when
 * no zone is given: the instance type names are the same in every region.
 */
async function checkIgnoredScalingFlags(f: RunFlags): Promise<string[]> {
  const given = autoscalingFlagsGiven(f);
  if (given.length === 0) return [];
  // The scaler's config and the catalogue (zod's schemas) load only for a run that gave one.
  const [{ parseScalerFlags, scalerSectionFromFlags }, { readCatalogue }] = await Promise.all([
    import('./scalerFlags.js'),
    import('../scaler/catalogueFile.js'),
  ]);
  const zone = /^[a-z]{2}-[a-z]+-\d[a-z]$/.test(f.zone ?? '') ? f.zone! : 'us-west-2a';
  const hasTypes = f.nodeTypes ?? f.nodeType ?? f.preemptableNodeType ?? f.preemptibleNodeType;
  // Without node types the values are checked against stand-ins, as many as the longest list
  // (`--maxNodes 3,4` names no type for either, which only a provisioner's node types would).
  const values = (v: string | undefined): number => (v === undefined ? 1 : v.split(',').length);
  const catalogue = await readCatalogue();
  const standIns = [...catalogue.types.values()]
    .filter((t) => t.onDemandPrice['us-west-2'] !== undefined && t.gpus === 0)
    .slice(0, Math.max(values(f.maxNodes), values(f.minNodes)))
    .map((t) => t.name);
  // --minPreemptableNodes counts the nodes of a spot type: one stands in for it too.
  const spotStandIn =
    (f.minPreemptableNodes ?? f.minPreemptibleNodes) !== undefined
      ? { preemptableNodeType: standIns[0] }
      : {};
  const flags = scalerSectionFromFlags(
    hasTypes ? f : { ...f, nodeTypes: standIns.join(','), ...spotStandIn },
    zone,
  );
  parseScalerFlags(flags, catalogue);
  return given;
}

/** A positive number of seconds (Toil's service flags take fractions too). */
function parseSeconds(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected a positive number of seconds`);
  return n;
}

/** Toil's --stopOnFirstFailure [bool]; absent or false: every job that can run runs. */
function stopOnFirstFailureOf(f: RunFlags): { stopOnFirstFailure?: true } {
  return f.stopOnFirstFailure !== undefined && parseBool('--stopOnFirstFailure', f.stopOnFirstFailure)
    ? { stopOnFirstFailure: true }
    : {};
}

/** Toil's --maxJobDuration (seconds), in ms; absent: no limit. */
function parseMaxJobDuration(f: RunFlags): { maxJobDurationMs?: number } {
  if (f.maxJobDuration === undefined) return {};
  return { maxJobDurationMs: parseSeconds('--maxJobDuration', f.maxJobDuration) * 1000 };
}

/** Toil's --maxServiceJobs and --maxPreemptableServiceJobs (--maxPreemptibleServiceJobs too); absent: no limit. */
export function parseServiceLimits(f: RunFlags): {
  maxServiceJobs?: number;
  maxPreemptableServiceJobs?: number;
} {
  const preemptableFlag =
    f.maxPreemptibleServiceJobs !== undefined ? '--maxPreemptibleServiceJobs' : '--maxPreemptableServiceJobs';
  const preemptable = f.maxPreemptibleServiceJobs ?? f.maxPreemptableServiceJobs;
  return {
    ...(f.maxServiceJobs !== undefined
      ? { maxServiceJobs: parseCount('--maxServiceJobs', f.maxServiceJobs) }
      : {}),
    ...(preemptable !== undefined
      ? { maxPreemptableServiceJobs: parseCount(preemptableFlag, preemptable) }
      : {}),
  };
}

/**
 * Toil's "no limit" for --maxCores, --maxMemory, --maxDisk and its other caps: Python's sys.maxsize
 * (its SYS_MAX_SIZE), the default its `toil config` writes. As a number it would be 2^63, printed
 * 9223372036854776000 in a cap's message.
 */
export const TOIL_SYS_MAXSIZE = '9223372036854775807';

/**
 * Toil's --maxCores, --maxMemory and --maxDisk (sizes as Toil writes them: 1G, 2Gi, bytes); absent
 * or Toil's sys.maxsize: no cap. A size of 0, which could only refuse every job, is refused as Toil
 * refuses it.
 */
export function parseJobLimits(f: RunFlags): { maxCores?: number; maxMemory?: number; maxDisk?: number } {
  const positiveSize = (flag: string, v: string): number => {
    const n = parseSize(flag, v);
    if (n === 0) throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected a size > 0, like 600M or 2Gi`);
    return n;
  };
  const capped = (v: string | undefined): v is string => v !== undefined && v.trim() !== TOIL_SYS_MAXSIZE;
  return {
    ...(capped(f.maxCores) ? { maxCores: parseCores('--maxCores', f.maxCores) } : {}),
    ...(capped(f.maxMemory) ? { maxMemory: positiveSize('--maxMemory', f.maxMemory) } : {}),
    ...(capped(f.maxDisk) ? { maxDisk: positiveSize('--maxDisk', f.maxDisk) } : {}),
  };
}

/** Toil's --maxJobs; 0 (Toil's "unlimited") and absent: no limit. */
export function parseMaxJobs(f: RunFlags): { maxJobs?: number } {
  if (f.maxJobs === undefined) return {};
  const n = parseCount('--maxJobs', f.maxJobs);
  return n === 0 ? {} : { maxJobs: n };
}

/**
 * Whole numbers as Toil's argparse reads them (Python's int()): Number() alone also takes 0x10,
 * 0b1 and '' (as 0), which Toil refuses.
 */
const DECIMAL_INT = /^\s*\+?\d+\s*$/;

export function parseCount(flag: string, v: string): number {
  const n = DECIMAL_INT.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0)
    throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected a whole number >= 0`);
  return n;
}

export function parseCores(flag: string, v: string): number {
  const n = decimalNumber(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected a number of cores > 0`);
  return n;
}

/** Toil's `--scale`: a factor > 0 (Toil's open interval). */
export function parseCoreScale(v: string): number {
  const n = decimalNumber(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UserInputError('BAD_FLAG', `--scale ${v}: expected a number > 0, e.g. 0.5`);
  return n;
}

export function parseSize(flag: string, v: string): number {
  const n = tryParseBytes(v);
  if (n === undefined)
    throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected a size like 600M or 2Gi (${SIZE_SUFFIXES})`);
  return n;
}

/**
 * How a run treats its jobs, which holds wherever its leader runs (this process, or a daemon):
 * --clean, --retryCount, --preemptableRetries, --default{Cores,Memory,Disk}, --setEnv, --maxJobDuration, --stopOnFirstFailure,
 * --maxServiceJobs, --maxPreemptableServiceJobs, --maxJobs, --maxCores, --maxMemory, --maxDisk.
 */
export function runJobPolicy(f: RunFlags): {
  clean: CleanPolicy;
  retryCount: number;
  preemptableRetries: number;
  defaults: JobDefaults;
  env: Record<string, string>;
  servicePollMs: number;
  deadlockWaitMs: number;
  maxJobDurationMs?: number;
  stopOnFirstFailure?: true;
  maxServiceJobs?: number;
  maxPreemptableServiceJobs?: number;
  maxJobs?: number;
  maxCores?: number;
  maxMemory?: number;
  maxDisk?: number;
} {
  return {
    clean: parseCleanPolicy(f),
    retryCount: parseCount('--retryCount', f.retryCount),
    servicePollMs: parseSeconds('--servicePollingInterval', f.servicePollingInterval) * 1000,
    deadlockWaitMs: parseSeconds('--deadlockWait', f.deadlockWait) * 1000,
    ...parseMaxJobDuration(f),
    ...stopOnFirstFailureOf(f),
    ...parseServiceLimits(f),
    ...parseMaxJobs(f),
    ...parseJobLimits(f),
    preemptableRetries: parsePreemptableRetries(f),
    defaults: parseJobDefaults(f),
    env: parseSetEnv(f.setEnv),
  };
}

/** --defaultCores, --defaultMemory, --defaultDisk: what a job declaring nothing gets. */
export function parseJobDefaults(f: RunFlags): JobDefaults {
  return {
    cores: parseCores('--defaultCores', f.defaultCores),
    memory: parseSize('--defaultMemory', f.defaultMemory),
    disk: parseSize('--defaultDisk', f.defaultDisk),
  };
}

/** Toil's Slurm flags the run was given (they take effect with --batchSystem slurm only). */
/** The note for Slurm's flags given to a run whose workers are not Slurm's; undefined when none is. */
export function slurmFlagsUnused(f: RunFlags): string | undefined {
  const given = slurmOnlyFlags(f);
  if (f.batchSystem === 'slurm' || given.length === 0) return undefined;
  const one = given.length === 1;
  return `toil: ${given.join(', ')} ${one ? 'has' : 'have'} no effect with --batchSystem ${f.batchSystem} (only Slurm takes ${one ? 'it' : 'them'})`;
}

const SLURM_ONLY = [
  'slurmArgs',
  'slurmTime',
  'slurmQOS',
  'slurmPE',
  'slurmAllocateMem',
  'batchLogsDir',
] as const;

/** Options a leader daemon cannot take from one submission (refused when typed or in `--config`). */
const ONLY_THIS_PROCESS_HONOURS = [
  'workDir',
  'writeLogs',
  'writeLogsGzip',
  'writeMessages',
  ...SLURM_ONLY,
] as const satisfies readonly (keyof RunFlags)[];

function slurmOnlyFlags(f: RunFlags): string[] {
  return SLURM_ONLY.filter((k) => f[k] !== undefined).map((k) => `--${k}`);
}

/** --defaultPreemptable or Toil's --defaultPreemptible [bool], a bad value named as it was typed; undefined when neither is given. */
export function givenDefaultPreemptable(f: RunFlags): boolean | undefined {
  if (f.defaultPreemptable !== undefined) return parseBool('--defaultPreemptable', f.defaultPreemptable);
  if (f.defaultPreemptible !== undefined) return parseBool('--defaultPreemptible', f.defaultPreemptible);
  return undefined;
}

export function parseBool(flag: string, v: string | boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (/^(true|yes|1)$/i.test(v)) return true;
  if (/^(false|no|0)$/i.test(v)) return false;
  throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected true or false`);
}

/** How often a run's progress counts are read again from its batch system between updates. */
const PROGRESS_REDRAW_MS = 2_000;

/**
 * What a stop ends of the run's jobs, as its message says it: the running jobs it kills and the
 * queued ones it cancels, or that no job has started yet (a stop at the run's start).
 */
export function issuedJobsToStop(progress: WorkflowProgress | undefined): string {
  const running = progress?.running ?? 0;
  const queued = progress?.waiting ?? 0;
  if (running === 0 && queued === 0) return ': no job of it is running yet';
  const jobs = (n: number, state: string): string => `${n} ${state} job${n === 1 ? '' : 's'}`;
  const parts = [
    ...(running > 0 ? [`killing its ${jobs(running, 'running')}`] : []),
    ...(queued > 0 ? [`cancelling its ${jobs(queued, 'queued')}`] : []),
  ];
  return ` and ${parts.join(' and ')}`;
}

/** The forced exit's kills, as a clause of its line: `, its 2 workers and 1 process its jobs left killed`. */
export function forcedKills(workers: number, strays: number): string {
  const parts = [
    ...(workers > 0 ? [`its ${countOf(workers, 'worker')}`] : []),
    ...(strays > 0 ? [`${strays} ${strays === 1 ? 'process' : 'processes'} its jobs left`] : []),
  ];
  return parts.length === 0 ? '' : `, ${parts.join(' and ')} killed`;
}
