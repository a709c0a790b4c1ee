import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RealClock } from '../common/clock.js';
import { ConfigError } from '../common/configErrors.js';
import { ToilError, UserInputError, coerceError, isUserError } from '../common/errors.js';
import { countOf, formatDuration, tryParseBytes } from '../common/units.js';
import { runOutput } from './toilRunOptions.js';
import {
  assertMesosAnswers,
  mesosMasterFlag,
  mesosMasterHostPort,
  mesosMasterUnused,
} from './mesosMasterFlag.js';
import type { DeclaredJob } from '../leader/autoscaledRunChecks.js';
import type { LeaderConfig } from '../leader/leaderConfig.js';
import type { ScalerConfig } from '../scaler/config.js';
import { jobLogWriter, type JobLogFilesOptions } from '../leader/jobLogFiles.js';
import { storeExistsError } from '../leader/workflowStatus.js';
import { openMessageFile } from '../leader/messageFile.js';
import { ClusterStatsRecorder, clusterStatsPath } from '../leader/clusterStats.js';
import type { Catalogue } from '../scaler/catalogue.js';
import { checkWorkDir } from '../leader/runScratch.js';
import {
  absoluteLocator,
  autoscaleStateDir,
  estimateNote,
  leftByRun,
  leftByRunLines,
  pointerTo,
  runRecordPath,
  writeRunRecord,
  writeStatePointer,
} from './autoscaleRunState.js';
import { CLUSTER, CLUSTER_THRESHOLD } from '../scaler/cost/bootBackoff.js';
import type { FatalLaunchError } from '../scaler/tick/fatalBackoff.js';
import type { CleanPolicy } from '../leader/runWorkflow.js';
import { JobStoreLeasedError } from '../jobstore/errors.js';
import { STORE_UNREACHABLE_EXIT } from './storeUnreachable.js';
import { clusterEnvironment, prepareWorkDir, refuseNodeDebug, workDirOf } from '../main/env.js';
import { parseTagsJson } from '../provisioner/cluster/validate.js';
import { runZone } from './clusterLeader.js';
import { runCostDollars, type TickState } from '../scaler/tick/state.js';
import { loadWorkflowFile } from '../workflow/moduleLoader.js';
import {
  failedRunStore,
  givenDefaultPreemptable,
  runJobPolicy,
  slurmFlagsUnused,
  type RunFlags,
} from './run.js';
import { parseSlurmFlags, slurmPartitionOf } from '../slurm/slurmFlags.js';
import { CANCELLED_EXIT, WorkflowInterruptedError, onStopSignals, signalExitCode } from './untilSignal.js';
import type { StartedLeader } from '../main/leader.js';
import type { ClusterLeader } from './leaderMesosMaster.js';

/**
 * The seed's own form: `toil run WORKFLOW JOBSTORE --provisioner aws --nodeType … --batchSystem
 * mesos --mesosMaster HOST:5050` (or `--batchSystem slurm` with SLURM_CONF naming the controller). The daemon's leader and scaler tick run in this process for
 * this one workflow (the same code as `toil leader`, with HTTP status on a free local port); when
 * the workflow ends every node it launched is terminated, unless --keepNodes.
 *
 * Before anything is launched, the workflow's declared jobs are planned alone on an empty cluster
 * with these flags: a job no allowed type fits, or one the flags would leave waiting forever, is
 * refused with one line naming the flag to change (exit 2).
 */
export async function runAutoscaled(
  workflowFile: string,
  jobStoreText: string,
  args: readonly string[],
  f: RunFlags,
  /** Adds "did you mean" to a workflow's refusal of an argument that is a misspelt toil flag. */
  hint: (message: string) => string = (m) => m,
  /** `--writeLogs`: where each job attempt's log is written, its directory already made. */
  jobLogs?: JobLogFilesOptions,
  /** The lines to say once the workflow took its arguments (toilFlagTypos). */
  argsTakenNotices: readonly string[] = [],
): Promise<number> {
  if (f.provisioner !== 'aws')
    throw new UserInputError('BAD_FLAG', `--provisioner ${f.provisioner}: expected aws`);
  const batchSystem = autoscaledBatchSystem(f);
  refuseNodeDebug();
  const { zone, source: zoneSource } = await runZone(f.zone);
  // TOIL_AWS_TAGS is read as launch-cluster reads it: bad JSON is a BAD_TAG error, not ignored.
  const clusterName = f.clusterName ?? parseTagsJson(clusterEnvironment().tagsJson)['clusterName'];
  if (!clusterName)
    throw new UserInputError(
      'BAD_FLAG',
      '--provisioner aws needs --clusterName (or a clusterName tag in TOIL_AWS_TAGS, as on the leader)',
    );
  const policy = runJobPolicy(f);
  const { defaults } = policy;
  const defaultPreemptable = givenDefaultPreemptable(f) ?? false;
  const workDir = await prepareWorkDir(f.workDir);
  // The config's schemas (zod) and the scaler's flags load once the checks above passed: a run
  // refused for its provisioner, batch system, zone, cluster name, job defaults or work directory
  // ends without them.
  const [
    { readCatalogue },
    { parseLeaderConfigObject },
    { flagError, problemOfFlag, scalerSectionFromFlags },
  ] = await Promise.all([
    import('../scaler/catalogueFile.js'),
    import('../leader/leaderConfig.js'),
    import('./scalerFlags.js'),
  ]);
  const catalogue = await readCatalogue();
  // The leader's own state beside the work dir, one per job store, so --restart adopts its nodes.
  const stateDir = autoscaleStateDir(workDir, jobStoreText);
  const scalerFlags = scalerSectionFromFlags(f, zone);
  const configWith = (engine: typeof batchSystem): LeaderConfig =>
    parseLeaderConfigObject(
      {
        jobStore: `file:${stateDir}`,
        logLevel: 'info',
        http: { host: '127.0.0.1', port: 0 },
        batchSystem: engine,
        provisioner: { kind: 'aws', zone, clusterName },
        shutdown: { releaseNodes: !f.keepNodes },
        scaler: scalerFlags.section,
      },
      catalogue,
      'flags',
    );
  let config: LeaderConfig;
  try {
    // Without --mesosMaster the master is looked up in the cloud below, and the config made again
    // with it: the flags are checked first, so a run refused for them asks the cloud nothing.
    config = configWith(batchSystem);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The zone and the cluster's name are said as given (a flag, or the environment), not as
    // the provisioner.* path of the config they make.
    const given: Record<string, string> = {
      zone: zoneSource,
      clusterName:
        f.clusterName !== undefined
          ? `--clusterName ${f.clusterName}`
          : `the clusterName tag of TOIL_AWS_TAGS (${clusterName})`,
    };
    throw flagError(
      e.problems.map((p) => {
        const m = /^provisioner\.(zone|clusterName): (.*)$/s.exec(p);
        return m ? `${given[m[1]!]}: ${m[2]}` : problemOfFlag(p, scalerFlags);
      }),
    );
  }
  // The job stores, the bundler (esbuild) and the metrics (prom-client) load once the scaler's
  // config is accepted: a run refused for it (a compensation out of range) ends without them.
  const [{ checkScalingFlags }, { openJobStore }, { bundleWorkflow }, { createLeaderMetrics }] =
    await Promise.all([
      import('../leader/autoscaledRunChecks.js'),
      import('../main/jobStores.js'),
      import('../workflow/bundle.js'),
      import('../leader/metrics.js'),
    ]);
  const clock = new RealClock();
  // Open for the process's life: the leader's last lines (after this function returns) go there too.
  const { console: out, log } = runOutput(f, clock);
  const slurmNote = slurmFlagsUnused(f);
  if (slurmNote) out.line(slurmNote);
  const mesosNote = mesosMasterUnused(config.batchSystem.kind, f);
  if (mesosNote) out.line(mesosNote);
  // A new run on an existing job store is refused before a leader starts, as a local run's is:
  // one line, and no talk of nodes when none was launched. (--restart checks it in the leader.)
  const store = openJobStore(jobStoreText, { log, clock });
  const storeExists = await store.exists();
  if (!f.restart && storeExists) throw await storeExistsError(store, clock.now());
  // --restart of a store that is not there is refused the same way, with no leader started and
  // no state written; unless a killed run on it left nodes (or unanswered launches) in its state:
  // then the leader starts to adopt and release them, and the store's absence is said after.
  // What a killed run on this store left (nodes, unanswered launches), read once for the checks below.
  const leftBefore = await leftByRun(stateDir);
  if (f.restart && !storeExists && !leftBefore)
    await store.assertExists('drop --restart to start a new workflow');
  // Bundled once: the module whose jobs are checked here is the one the run starts.
  const bundle = await bundleWorkflow(resolve(workflowFile));
  checkScalingFlags(await declaredJobs(bundle, defaults, defaultPreemptable, workDir), config.scaler);

  // Named (and its directory checked) before anything is launched; written when the run ends.
  const statsPath = f.clusterStats !== undefined ? clusterStatsPath(f.clusterStats, clusterName) : undefined;
  // No --mesosMaster: Toil's default, the leader's own address, asked of the cloud once every
  // check made here has passed, and said, since it is not what the user typed.
  let master = mesosMasterFlag(f);
  // The cluster's running leader, whose image the workers boot too: found once, by whichever
  // lookup below is made.
  let leader: ClusterLeader | undefined;
  const leaderLookedUp = config.batchSystem.kind === 'mesos' && !master;
  if (leaderLookedUp) {
    const { leaderMesosMaster, defaultMasterLine } = await import('./leaderMesosMaster.js');
    const found = await leaderMesosMaster({ clusterName, region: config.scaler.region, clock, log }).catch(
      (e: unknown) => {
        // Refused before a leader starts, so nothing adopts what a killed run left: said here, with
        // how to end it, instead of leaving it to bill unmentioned.
        if (!isUserError(e) || !leftBefore) throw e;
        throw new UserInputError(
          e.code,
          `${e.message}\nthe killed run on this job store left what follows; a refused run neither adopts nor releases it:\n` +
            leftByRunLines(leftBefore, clock.now()).trimEnd(),
          e.details,
        );
      },
    );
    ({ master, leader } = found);
    out.line(defaultMasterLine(master));
    config = configWith({ kind: 'mesos', mesosMaster: master.address });
  }
  // As a local run checks it: a master that is not there failed the run only after the leader had
  // started, made the job store and waited a minute for the subscription, logging each retry. Not
  // when a killed run left nodes: the leader starts to release them, master or not.
  if (config.batchSystem.kind === 'mesos' && master && !leftBefore) {
    const { MesosMasterClient } = await import('../mesos/masterClient.js');
    const client = new MesosMasterClient(config.batchSystem.mesosMaster);
    await assertMesosAnswers(() => client.version(), master);
  }
  // After the master, as the cluster's leader below: a run refused for its master asks the cloud
  // nothing. Not when a killed run left nodes: the leader starts to release them, whatever the zone.
  if (!leftBefore) {
    const { checkRunZone } = await import('./leaderMesosMaster.js');
    await checkRunZone({ zone, source: zoneSource, clusterName, region: config.scaler.region, clock, log });
  }
  // The default master's lookup above finds the cluster's leader; with --mesosMaster (or Slurm)
  // it is looked for here. Not when a killed run left nodes: the leader starts to release them
  // (and the workers boot TOIL_AWS_AMI, else the image of those nodes, as no leader is known).
  if (!leaderLookedUp && !leftBefore) {
    const { clusterLeader } = await import('./leaderMesosMaster.js');
    leader = await clusterLeader({ clusterName, region: config.scaler.region, clock, log });
  }
  // The workers' image, and their root volumes checked against it, once the cluster is known to be
  // there; the leader launches that image.
  const [{ runNodeImage }, { ROOT_VOLUME_FLAGS, workerRootVolumes }] = await Promise.all([
    import('./runNodeImage.js'),
    import('../scaler/rootVolumes.js'),
  ]);
  const { imageId, line: imageLine } = await runNodeImage({
    clusterName,
    given: clusterEnvironment().imageId,
    leader,
    adopted: leftBefore?.nodes.map((n) => n.instanceId) ?? [],
    region: config.scaler.region,
    volumes: workerRootVolumes(config.scaler, ROOT_VOLUME_FLAGS),
    clock,
    log,
  });
  if (config.provisioner.kind === 'aws')
    config = { ...config, provisioner: { ...config.provisioner, imageId } };
  // Emptied (as Toil empties it) only once the run is to start: a refused one leaves it as it was.
  const messages = f.writeMessages !== undefined ? openMessageFile(f.writeMessages) : undefined;
  // The leader's stack (AWS SDK, HTTP server, engines) loads only once the flags are accepted.
  const { startLeader } = await import('../main/leader.js');
  let started: StartedLeader | undefined;
  // One stop, however many ask for it: a later signal waits for the stop under way.
  let stopping: Promise<void> | undefined;
  const stop = (leader: StartedLeader): Promise<void> =>
    (stopping ??= (async () => {
      if (!f.keepNodes) out.line('toil: releasing every node this run launched');
      await leader.stop();
    })());
  // A first stop signal (SIGINT, SIGTERM, SIGHUP) cancels the workflow, which kills its jobs and
  // removes the leader's scratch as any ended run does; the nodes are then released below and the
  // exit code is the signal's (130, 143, 129). A second signal, or one before the workflow is
  // submitted, stops sooner:
  // in-flight calls are cut short and every call of the stop gets one try, but the nodes are still
  // released before the process exits (exiting at once left them running, billing). A third
  // signal exits at once, naming what may be left. A signal while the leader starts (it re-sends
  // the launches a killed run never heard back from and adopts what they made) waits for the start
  // to end, then releases what it adopted: exiting then left those instances running.
  let interrupted: NodeJS.Signals | undefined;
  let signalledWhileStarting: NodeJS.Signals | undefined;
  let cancelRun: ((why: Error) => void) | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (interrupted === undefined && cancelRun) {
      interrupted = signal;
      out.line(`toil: ${signal}: cancelling the workflow; ${storeAfterStop(policy.clean)}`);
      cancelRun(new WorkflowInterruptedError(signal));
      return;
    }
    if (signals > 2) {
      out.line(
        `toil: ${signal} a third time: exiting now; nodes this run launched may be left running: ` +
          `toil status ${jobStoreText} names them`,
      );
      process.exit(signalExitCode(signal));
    }
    if (!started) {
      if (signalledWhileStarting === undefined)
        out.line(
          `toil: ${signal}: stopping once the leader has started (it is adopting what the last run left), ` +
            `then releasing the nodes this run launched (${signal} a third time exits at once and may leave them running)`,
        );
      signalledWhileStarting ??= signal;
      return;
    }
    if (!f.keepNodes)
      out.line(
        `toil: ${signal}: releasing the nodes this run launched, one try per call, then exiting ` +
          `(${signal} a third time exits at once and may leave them running)`,
      );
    started.daemon.abort();
    void stop(started).finally(() => process.exit(signalExitCode(signal)));
  };
  const offSignals = onStopSignals(onSignal);
  const defaultStateDir = autoscaleStateDir(workDirOf(undefined), jobStoreText);
  let succeeded = false;
  let stopped = false;
  let outcome = 'failed';
  let stats: ClusterStatsRecorder | undefined;
  let nodesLeft = false;
  let exitCode: number;
  const runStartedAt = clock.now();
  try {
    started = await startLeader({
      config: () => config,
      clock,
      log,
      metrics: createLeaderMetrics(),
      // The workflow is this command's: a crashed earlier run is resumed by --restart, not behind our back.
      resumeWorkflows: false,
    }).catch((e: unknown) => {
      throw secondRun(e, jobStoreText);
    });
    // Said once this run holds the job store's state: a second run refused as the store is in use
    // would name the live run's nodes as a killed run's it adopts.
    if (imageLine) out.line(imageLine);
    out.line(`toil: autoscaling ${clusterName} in ${zone}; status at ${started.url}/status`);
    if (statsPath !== undefined)
      stats = recordClusterStats(started, statsPath, clusterName, catalogue, config, runStartedAt);
    // Should this process die without releasing its nodes, `toil status JOBSTORE` prints this to resume.
    await writeRunRecord(stateDir, {
      format: 1,
      argv: process.argv.slice(2),
      cwd: process.cwd(),
      clusterName,
      zone,
      startedAt: clock.now(),
      ...(config.scaler.estimatedPrices ? { estimatedPrices: config.scaler.estimatedPrices } : {}),
    });
    // So that `toil status JOBSTORE` finds it without this run's --workDir.
    await writeStatePointer(stateDir, defaultStateDir);
    if (signalledWhileStarting !== undefined) {
      outcome = 'interrupted';
      out.line(
        `toil: workflow interrupted by ${signalledWhileStarting}; its job store is kept for --restart`,
      );
      exitCode = signalExitCode(signalledWhileStarting);
    } else exitCode = await runSubmitted(started);
  } finally {
    // The run is over; a signal from here on is about the stop, which keeps the handlers (without
    // them, Node's default ended the process mid-release and left the nodes running).
    cancelRun = undefined;
    if (started)
      stopped = await stop(started).then(
        () => true,
        (e: unknown) => {
          log.error({ err: coerceError(e) }, 'stopping the leader failed');
          return false;
        },
      );
    offSignals();
    messages?.close();
    if (stats && started) {
      try {
        const written = stats.write(
          clock.now(),
          outcome,
          started.daemon.scaler.persisted.costDollars,
          stopped && !f.keepNodes,
        );
        out.line(`toil: cluster statistics written to ${written}`);
      } catch (e) {
        out.line(`toil: --clusterStats: could not write ${statsPath}: ${coerceError(e).message}`);
      }
    }
    if (started && !f.keepNodes) nodesLeft = await endState(stopped);
  }
  // Nodes left running bill on: the run did not do what was asked of it, even when its workflow
  // succeeded, and a script must not read it as done (its lines above say how to end them).
  return nodesLeft && exitCode === 0 ? 1 : exitCode;

  /**
   * The run's state once its leader has stopped. Nodes its tick state still owns (their release
   * failed) may be running and billing: the state is kept, as the only record of them, and the
   * way to end them is said. Otherwise nothing is left for a --restart to adopt once the workflow
   * is done or its job store is gone (deleted by --clean, or a --restart on a store that no longer
   * exists, which only ended what a killed run had left): the state goes, files and pointer.
   * A failed run whose store is kept keeps its state for --restart. Returns whether nodes may be
   * left running.
   */
  async function endState(stopped: boolean): Promise<boolean> {
    const pointer = await pointerTo(stateDir, defaultStateDir);
    const left = await leftByRun(stateDir, pointer).catch(() => undefined);
    const storeGone = !(await store.exists().catch(() => true));
    if (left) {
      out.line(
        `toil: ${stopped ? 'the leader stopped' : 'stopping the leader failed'}, and not every node this run ` +
          `launched was released; its state ${stateDir} is kept:\n` +
          leftByRunLines(left, clock.now(), storeGone).trimEnd(),
      );
      return true;
    }
    if (!succeeded && !storeGone) return false;
    await Promise.all([
      rm(stateDir, { recursive: true, force: true }),
      rm(`${stateDir}.token`, { force: true }),
      rm(runRecordPath(stateDir), { force: true }),
      ...(pointer ? [rm(pointer, { force: true })] : []),
    ]);
    return false;
  }

  /** Submits the workflow to the started leader and waits for its end: the exit code. */
  async function runSubmitted(started: StartedLeader): Promise<number> {
    const run = started.daemon.submit({
      workflowFile: resolve(workflowFile),
      jobStore: absoluteLocator(jobStoreText),
      args,
      defaultPreemptable,
      options: {
        restart: Boolean(f.restart),
        ...policy,
        workDir,
        bundle,
        ...(jobLogs ? { onJobLog: jobLogWriter(jobLogs, log) } : {}),
        ...(messages ? { onJobEvent: messages.write } : {}),
      },
    });
    cancelRun = (why) => started.daemon.cancel(run.id, why);
    let cancelled = false;
    let argsSaid = false;
    const sayArgsTaken = (): void => {
      if (argsSaid || !run.argsTaken) return;
      argsSaid = true;
      for (const line of argsTakenNotices) out.line(line);
    };
    while (run.status === 'running') {
      sayArgsTaken();
      const progress = started.daemon.progressOf(run);
      if (progress) out.progress(progress);
      // One workflow, one cluster: a launch the cloud refuses for good (a limit, a permission, a
      // cluster without a leader) would leave the workflow waiting forever. Fail fast instead.
      const fatal = started.daemon.scaler.fatalErrors[0];
      // Likewise workers that boot but never join: the scaler backs off, the workflow would wait.
      const stop = fatal ? launchFailure(fatal) : nodesNeverJoined(started.daemon.scaler.persisted, config);
      if (stop && !cancelled) {
        cancelled = true;
        started.daemon.cancel(run.id, stop);
      }
      await Promise.race([started.daemon.workflowsDone(), clock.sleep(250)]);
    }
    // A run that ended between two looks took its arguments all the same.
    sayArgsTaken();
    out.endProgress();
    const t = started.daemon.scaler.persisted;
    const elapsed = formatDuration(clock.now() - run.submittedAt);
    if (run.status === 'succeeded')
      out.line(
        `toil: workflow succeeded: ${countOf(run.jobsRun ?? 0, 'job')} run` +
          (run.jobsReplayed ? ` (${run.jobsReplayed} already done before --restart)` : '') +
          ` in ${elapsed}; ${nodesCostLine(t, config.scaler.estimatedPrices)}`,
      );
    else if (interrupted !== undefined)
      out.line(`toil: workflow interrupted by ${interrupted}; ${storeAfterStop(policy.clean)}`);
    // Cancelled over the leader's HTTP (DELETE /workflows/:id): its message says from where and
    // when, and what --clean did with the store.
    else if (run.status === 'cancelled')
      out.line(
        `toil: ${run.message ?? 'workflow cancelled at the leader'}` +
          (run.messageSaysResume ? '' : `; ${storeAfterStop(policy.clean)}`),
      );
    else if (run.userError) out.line(`toil: ${hint(run.message ?? 'bad input')}`);
    // The store, not the workflow, as a local run says it.
    else if (run.storeUnreachable)
      out.line(`toil: ${run.message ?? 'the job store could not be reached or read'}`);
    // Stopped on purpose, not failed: its message says by whom and what resumes it.
    else if (run.stoppedByKill) out.line(`toil: ${run.message ?? 'the workflow was stopped by toil kill'}`);
    else out.line(`toil: workflow failed: ${run.message ?? 'no reason given'}`);
    // A run that got as far as its job store (a job failed, a launch was refused for good) says
    // what became of the store, as a local run does: re-running the same command would be refused.
    // A message that says so already (a run stopped by toil kill: kept, or deleted by --clean) is
    // not said twice.
    if (
      run.status === 'failed' &&
      interrupted === undefined &&
      (cancelled || !run.userError) &&
      !run.messageSaysResume
    )
      out.line(failedRunStore(jobStoreText, policy.clean, run.failedJobs?.some((j) => j.committed) ?? false));
    succeeded = run.status === 'succeeded';
    outcome = interrupted !== undefined && !succeeded ? 'interrupted' : run.status;
    if (interrupted !== undefined && !succeeded) return signalExitCode(interrupted);
    if (succeeded) return 0;
    if (run.status === 'cancelled') return CANCELLED_EXIT;
    // A store the leader could not reach or read exits as a local run's leader does for it.
    return run.userError ? 2 : run.storeUnreachable ? STORE_UNREACHABLE_EXIT : 1;
  }
}

/** `--clusterStats`: each scaler tick of the started leader sampled, until the run writes the file. */
function recordClusterStats(
  started: StartedLeader,
  path: string,
  clusterName: string,
  catalogue: Catalogue,
  config: LeaderConfig,
  startedAt: number,
): ClusterStatsRecorder {
  const { scaler } = started.daemon;
  const stats = new ClusterStatsRecorder({
    path,
    clusterName,
    startedAt,
    typeOf: (name) => catalogue.types.get(name),
    billingMinimumSeconds: config.scaler.billingMinimumSeconds,
  });
  started.daemon.events.on('tick', (r) => stats.sample(r.at, scaler.nodes, r.terminated, scaler.jobs));
  return stats;
}

/**
 * The scaler state is one per job store, so a second run on a store whose run is still going
 * finds that state leased: said as the job store in use, as a local run says it, rather than
 * in the words of a leader config this command has none of.
 */
function secondRun(e: unknown, jobStore: string): unknown {
  if (!(e instanceof UserInputError) || e.code !== 'LEADER_STATE_LEASED') return e;
  const { holder, until } = e.details as { holder: string; until: string };
  return new JobStoreLeasedError(
    jobStore,
    `${holder}, the leader of another toil run --provisioner aws on it,`,
    until,
    `expected no other leader on it; stop that run (Ctrl-C there, or toil kill ${jobStore}), or wait for its lease to expire if it died, then run again with --restart`,
  );
}

/** What a failed run left: its job store kept for --restart, unless --clean deleted it. */
/** What becomes of the job store of a run stopped on request: Toil's --clean always and onError delete it. */
function storeAfterStop(clean: CleanPolicy): string {
  return clean === 'always' || clean === 'onError'
    ? `its job store is deleted (--clean ${clean})`
    : 'its job store is kept for --restart';
}

/**
 * The engine the workers run: a Mesos master (--mesosMaster; none here when not given: the run
 * looks up Toil's default, the leader's own address, once its flags are accepted), or the Slurm
 * controller Slurm's tools reach (SLURM_CONF, else Slurm's default /etc/slurm/slurm.conf;
 * --slurmPartition).
 */
function autoscaledBatchSystem(
  f: RunFlags,
):
  { kind: 'mesos'; mesosMaster?: string } | ({ kind: 'slurm'; slurmConf: string } & Record<string, unknown>) {
  if (f.batchSystem === 'slurm') {
    const slurmConf = process.env.SLURM_CONF?.trim() || '/etc/slurm/slurm.conf';
    if (!existsSync(slurmConf))
      throw new UserInputError(
        'BAD_FLAG',
        `--provisioner aws --batchSystem slurm: ${slurmConf} does not exist; set SLURM_CONF to the controller's slurm.conf`,
      );
    // Checked here, so a mistake names the flag; the leader's config carries them to every job.
    const { jobFlags } = parseSlurmFlags(f, process.env);
    const partition = slurmPartitionOf(f.slurmPartition, process.env);
    return {
      kind: 'slurm',
      slurmConf,
      ...(partition ? { slurmPartition: partition } : {}),
      ...(f.slurmArgs !== undefined ? { slurmArgs: f.slurmArgs } : {}),
      ...(jobFlags.defaultTime !== undefined ? { slurmTime: jobFlags.defaultTime } : {}),
      ...(jobFlags.qos !== undefined ? { slurmQOS: jobFlags.qos } : {}),
      ...(jobFlags.multiCorePartition !== undefined ? { slurmPE: jobFlags.multiCorePartition } : {}),
      ...(jobFlags.allocateMem !== undefined ? { slurmAllocateMem: jobFlags.allocateMem } : {}),
      ...(jobFlags.logsDir !== undefined ? { batchLogsDir: jobFlags.logsDir } : {}),
    };
  }
  if (f.batchSystem !== 'mesos')
    throw new UserInputError(
      'BAD_FLAG',
      `--provisioner aws needs --batchSystem mesos or slurm (got ${f.batchSystem})`,
    );
  const master = mesosMasterFlag(f);
  return master ? { kind: 'mesos', mesosMaster: mesosMasterHostPort(master) } : { kind: 'mesos' };
}

/** Codes that are the user's setup to fix (exit 2); the rest (limits, rejections) fail the run (exit 1). */
const SETUP_CODES: Readonly<Record<string, string>> = {
  NOT_AUTHORISED: 'these credentials may not launch instances (ec2:RunInstances, ec2:CreateTags)',
  NO_CREDENTIALS: 'give AWS credentials',
  NO_REGION: 'give --zone',
  CLUSTER_NOT_FOUND: 'check --clusterName and --zone (toil launch-cluster makes the cluster)',
  NOT_FOUND: 'something the launch names is missing (the image: TOIL_AWS_AMI; the key pair; the subnet)',
};

/** The cloud's own codes whose cause is known better than their class's (NOT_FOUND) says. */
const CLOUD_CODE_HINTS: Readonly<Record<string, string>> = {
  'InvalidGroup.NotFound':
    "the cluster's security group is gone: was the cluster destroyed (toil destroy-cluster)? toil launch-cluster makes it again",
};

export function launchFailure(f: FatalLaunchError): Error {
  const what = `cannot launch nodes (${f.scope === 'all' ? 'any' : f.scope}): ${f.code}: ${f.message}`;
  const hint = (f.cloudCode !== undefined ? CLOUD_CODE_HINTS[f.cloudCode] : undefined) ?? SETUP_CODES[f.code];
  if (hint) return new UserInputError('LAUNCH_REFUSED', `${what}; ${hint}`, { code: f.code });
  const advice =
    f.code === 'LIMIT_EXCEEDED' ? '; lower --maxNodes/--maxPreemptableNodes or raise the account limit' : '';
  return new ToilError('LAUNCH_REFUSED', `${what}${advice}`, { details: { code: f.code } });
}

/**
 * The run's end when node after node never joined the cluster (the cost policy's cluster-wide
 * backoff, src/scaler/cost/bootBackoff.ts, has begun): one workflow on its own cluster cannot run
 * on workers that cannot join, and a backoff an hour long at most would keep it, and a node an
 * hour, going unwatched. Undefined while nodes join.
 */
export function nodesNeverJoined(state: TickState, config: LeaderConfig): Error | undefined {
  const runs = state.smoothing?.bootFailures ?? {};
  const run = runs[CLUSTER];
  if (!run || run.count < CLUSTER_THRESHOLD) return undefined;
  const last = Object.entries(runs)
    .filter(([key]) => key !== CLUSTER)
    .sort(([, a], [, b]) => b.lastAt - a.lastAt)[0]?.[0];
  const engine =
    config.batchSystem.kind === 'mesos'
      ? `the Mesos master (${config.batchSystem.mesosMaster})`
      : 'the Slurm controller';
  return new ToilError(
    'NODES_NEVER_JOINED',
    `${run.count} nodes in a row booted but never joined the cluster within bootTimeout ` +
      `${formatDuration(config.scaler.bootTimeoutSeconds * 1000)}${last ? ` (the last: ${last})` : ''}, ` +
      `so the run stops instead of launching more: check the worker image (TOIL_AWS_AMI), its user data, ` +
      `and that workers reach ${engine}`,
    { details: { count: run.count } },
  );
}

/** The job shapes the workflow module declares, with the run's defaults filled in. */
async function declaredJobs(
  bundle: Uint8Array,
  defaults: { cores: number; memory: number; disk: number },
  defaultPreemptable: boolean,
  workDir: string,
): Promise<DeclaredJob[]> {
  await checkWorkDir(workDir);
  const dir = await mkdtemp(join(workDir, 'toil-check-'));
  try {
    const path = join(dir, 'workflow.mjs');
    await writeFile(path, bundle);
    const { jobs, services } = await loadWorkflowFile(path);
    return likelyIssueOrder([...jobs.values()]).map((j) => {
      const r = j.requirements;
      // A promised requirement (known once its producer ran) counts as the default here.
      const bytes = (v: unknown, d: number): number =>
        typeof v === 'number' ? v : typeof v === 'string' ? (tryParseBytes(v) ?? d) : d;
      return {
        name: j.name,
        cores: typeof r.cores === 'number' ? r.cores : defaults.cores,
        memoryBytes: bytes(r.memory, defaults.memory),
        diskBytes: bytes(r.disk, defaults.disk),
        // A service runs on spot only if it says so (see resolveJobRequirements).
        preemptable: r.preemptable ?? r.preemptible ?? (services.has(j.name) ? false : defaultPreemptable),
        ...(services.has(j.name) ? { service: true } : {}),
      };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A module's job definitions in the order a run likely issues them, so that a refusal names the
 * job the user meets first. The root is known only once the workflow's start has run, which this
 * check comes before; a module defines its root after the jobs it adds (its function names
 * them), and those in the order it adds them: the last definition first, the rest as defined.
 */
function likelyIssueOrder<T>(definitions: readonly T[]): T[] {
  return definitions.length === 0 ? [] : [definitions.at(-1)!, ...definitions.slice(0, -1)];
}

/**
 * What the nodes cost, saying what is counted: the nodes this run launched (billing minimum
 * included) and, when the cluster has any, its static workers (launch-cluster --workers) for as
 * long as the run used them, though the run neither launched nor ends them.
 */
export function nodesCostLine(t: TickState, estimated: ScalerConfig['estimatedPrices']): string {
  const about = estimated ? 'about ' : '';
  const launched = `${about}$${t.costDollars.toFixed(4)} for the nodes it launched`;
  const staticWorkers = t.staticWorkersCostDollars ?? 0;
  // The region's prices are partly another region's list prices (the start-up warning said so).
  const estimate = estimated ? ` (${estimateNote(estimated)})` : '';
  if (staticWorkers === 0) return `nodes cost ${launched}${estimate}`;
  return (
    `nodes cost ${about}$${runCostDollars(t).toFixed(4)} (${launched}, ` +
    `${about}$${staticWorkers.toFixed(4)} for the cluster's static workers while it ran)${estimate}`
  );
}
