/**
 * The leader daemon (`toil leader`, `npm start`) built from its config. Modules load lazily: other
 * commands never pay for the local cloud, fastify or the EC2 client.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { userInfo } from 'node:os';
import type { Clock } from '../common/clock.js';
import { ToilError, UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { LeaderDaemon } from '../leader/daemon.js';
import type { LeaderConfig } from '../leader/leaderConfig.js';
import type { LeaderMetrics } from '../leader/metrics.js';
import type { ScalerSettingNames } from '../leader/scalerSettingNames.js';
import type { Ec2Endpoint } from '../localcloud/ec2/index.js';
import type { AwsCluster, NodeImage } from '../provisioner/aws/awsCluster.js';
import type { AwsClusterSettings } from '../provisioner/aws/awsProvisioner.js';
import { nodeInitCommands } from '../provisioner/nodeInit.js';
import { nodeS3Variables } from '../provisioner/nodeS3Endpoint.js';
import type { Ec2EndpointInUse } from '../provisioner/aws/ec2Errors.js';
import { clustersHere } from '../provisioner/cluster/clustersHere.js';
import { DEFAULT_NODE_STORAGE_GIB, estimatedPricesWarning, maxHourlyCostWarning } from '../scaler/config.js';
import { createEc2Client, ec2EndpointOf, silenceAwsSdkNodeVersionWarning } from './awsClients.js';
import { toilCommand, workerCommand } from './batchSystems.js';
import { startClusterEngine } from './clusterEngine.js';
import { workDirOf, type Env } from './env.js';
import { openJobStore, openObjectStore } from './jobStores.js';
import { embeddedNodeImage, makeEmbeddedCluster, startEmbeddedEc2 } from './embeddedCloud.js';
import { isLeaderStateKey, leaderStateStores } from './leaderState.js';
import { checkLeaderRootVolumes, leaderNodeImage } from './leaderNodeImage.js';

export interface StartedLeader {
  readonly daemon: LeaderDaemon;
  /** Where /healthz, /status and /metrics are served. */
  readonly url: string;
  /** The local cloud when the config says `embedded`: its EC2 endpoint, and which engine runs where. */
  readonly embedded?: {
    readonly ec2Url: string;
    readonly engine: string;
    readonly endpoint: Ec2Endpoint;
    /** With Slurm: the embedded controller's slurm.conf (what SLURM_CONF names for its tools). */
    readonly slurmConf?: string;
  };
  /**
   * Settles if this leader's lease on its state lapses or is taken over (another leader started
   * on the same state after this one stopped renewing, e.g. paused): it must stop.
   */
  readonly stateLost: Promise<Error>;
  /**
   * Throws what a config reloaded into this leader would break that its start was refused for:
   * a worker root volume below the root snapshot of the image it started with (ROOT_VOLUME_BELOW_IMAGE).
   */
  checkReload(next: LeaderConfig): void;
  /** Stops the daemon (graceful) and everything this factory started. */
  stop(): Promise<void>;
}

/**
 * Builds and starts the leader daemon from a parsed config: the job store for its own state, the
 * provisioner (AWS, or the local EC2 endpoint with `provisioner.kind: embedded`), one batch system
 * per submitted workflow (Mesos, or Slurm with `batchSystem.kind: slurm`; see clusterEngine.ts), HTTP.
 */
export async function startLeader(options: {
  readonly config: () => LeaderConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: LeaderMetrics;
  readonly env?: Env;
  readonly cwd?: string;
  /** Resume the workflows a crashed predecessor was running (the daemon); off for `toil run`'s own form. */
  readonly resumeWorkflows?: boolean;
  /**
   * The daemon's config file: with an aws provisioner, a cluster of that name with no leader in
   * the region (a mistyped name or zone) stops the start, naming the file to fix.
   */
  readonly configPath?: string;
}): Promise<StartedLeader> {
  const [
    { Ec2Calls, DEFAULT_RETRY, SINGLE_ATTEMPT },
    { AwsCluster },
    { AwsProvisioner },
    { LeaderDaemon, failedJobSummary, MAX_FAILED_JOBS_SHOWN, submissionDefaults },
  ] = await Promise.all([
    import('../provisioner/aws/ec2Calls.js'),
    import('../provisioner/aws/awsCluster.js'),
    import('../provisioner/aws/awsProvisioner.js'),
    import('../leader/daemon.js'),
  ]);
  const { runWorkflow } = await import('../leader/runWorkflow.js');
  const { IsolatedWorkflowCode } = await import('../leader/workflowHost.js');
  const { guardedWorkflowCode } = await import('../leader/guardedWorkflowCode.js');
  const { loadOrCreateToken, defaultTokenFile } = await import('../leader/auth.js');
  const { localHolder, JobStoreLease } = await import('../jobstore/lease.js');
  const { pendingKillRequest } = await import('../leader/killRequest.js');
  const { checkServicesTogether, checkJobLaunchable } = await import('../leader/autoscaledRunChecks.js');
  const { SCALER_FLAGS, scalerConfigKeys } = await import('../leader/scalerSettingNames.js');
  const cfg = options.config();
  // What a refused job's line tells its reader to change: the daemon's config file, where the
  // submitter's scaling flags do nothing; Toil's flags for `toil run --provisioner aws` (no file).
  // Read at each check: a reload may give or drop provisioner.nodeStorageGiB.
  const scalerSettings = (): ScalerSettingNames =>
    options.configPath !== undefined
      ? scalerConfigKeys(options.configPath, options.config().provisioner)
      : SCALER_FLAGS;
  const env = options.env ?? process.env;
  const log = options.log;
  const priceWarning = estimatedPricesWarning(cfg.scaler);
  if (priceWarning) log.warn({ region: cfg.scaler.region }, priceWarning);
  const budgetWarning = maxHourlyCostWarning(cfg.scaler);
  if (budgetWarning) log.warn({ maxHourlyCost: cfg.scaler.maxHourlyCost }, budgetWarning);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    // The daemon's own state: small JSON objects in its job store, leased first (before anything
    // is started), as a job store is: a second daemon on the same state would resume the first's
    // workflows and adopt (and scale in) the instances it runs.
    const stateStore = openObjectStore(cfg.jobStore, {
      env,
      ownKeys: isLeaderStateKey,
      log,
      clock: options.clock,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    if (!(await stateStore.exists())) await stateStore.create();
    const stateLease = await JobStoreLease.acquire(stateStore, { clock: options.clock }).catch(
      (e: unknown) => {
        throw e instanceof ToilError && e.code === 'JOBSTORE_LEASED' ? leaderStateLeased(cfg.jobStore, e) : e;
      },
    );
    const renewing = new AbortController();
    let stateLost: (e: Error) => void = () => {};
    const lost = new Promise<Error>((resolve) => (stateLost = resolve));
    void stateLease.keepRenewing(renewing.signal, (e) => stateLost(e));
    cleanups.push(async () => {
      renewing.abort();
      await stateLease.release();
    });
    // The engine (Mesos master or slurmctld, embedded or not) and the local cloud's EC2 endpoint.
    const engine = await startClusterEngine({ config: cfg, clock: options.clock, log, env });
    cleanups.push(() => engine.stop());
    let embedded: StartedLeader['embedded'];
    silenceAwsSdkNodeVersionWarning();
    let ec2: EC2Client;
    let settings: AwsClusterSettings;
    // Named when nothing answers there (the local cloud's endpoint is started here, so always answers).
    let endpointInUse: Ec2EndpointInUse | undefined;
    // The workers' image: a reloaded config's root volumes are checked against it too.
    let image: NodeImage | undefined;
    const p = cfg.provisioner;
    // The workers it launches join the engine it drives (their user data starts a slurmd or an agent).
    const clusterType = cfg.batchSystem.kind === 'slurm' ? ('slurm' as const) : ('mesos' as const);
    if (p.kind === 'embedded') {
      // Checked before the local cloud starts, as the AWS path checks before its first launch.
      image = await embeddedNodeImage();
      checkLeaderRootVolumes(cfg, image);
      const endpoint = await startEmbeddedEc2({
        config: cfg,
        mesosMaster: engine.joinAddress,
        clock: options.clock,
        log,
        ...(engine.launcher ? { launcher: engine.launcher } : {}),
      });
      cleanups.push(() => endpoint.stop());
      embedded = {
        ec2Url: endpoint.url,
        engine: engine.description,
        endpoint,
        ...(engine.slurmConf ? { slurmConf: engine.slurmConf } : {}),
      };
      // No environment: the local endpoint gets the placeholder keys, never a user's real ones.
      // The scaler tick's retry layer is the only one (src/scaler/tick/calls.ts).
      ec2 = await createEc2Client(endpoint.region, {}, { endpoint: endpoint.url, maxAttempts: 1 });
      settings = {
        clusterName: p.clusterName,
        zone: p.zone,
        imageId: image.imageId,
        applianceImage: 'local',
        owner: userInfo().username,
        extraTags: {},
        nodeStorageGiB: 50,
        leaderStorageGiB: 50,
        clusterType,
      };
    } else {
      // The same client the cluster utilities build (session tokens included), with one attempt:
      // the scaler tick's retry layer is the only one (src/scaler/tick/calls.ts).
      const region = p.region ?? p.zone.slice(0, -1);
      ec2 = await createEc2Client(region, env, {
        ...(p.endpoint ? { endpoint: p.endpoint } : {}),
        maxAttempts: 1,
      });
      endpointInUse = p.endpoint
        ? { url: p.endpoint, setBy: 'provisioner.endpoint' }
        : ec2EndpointOf(region, env);
      const cluster = new AwsCluster({
        calls: new Ec2Calls({
          client: ec2,
          clock: options.clock,
          log,
          retry: DEFAULT_RETRY,
          endpoint: endpointInUse,
        }),
        clusterName: p.clusterName,
        clock: options.clock,
        log,
      });
      if (options.configPath !== undefined) await requireClusterLeader(cluster, region, options.configPath);
      image = await leaderNodeImage(cluster, cfg, p, env, region);
      settings = {
        clusterName: p.clusterName,
        zone: p.zone,
        imageId: image.imageId,
        ...(p.keyPairName ? { keyName: p.keyPairName } : {}),
        applianceImage: p.applianceImage,
        // Its workers run what the cluster's leader was launched with (its containers' environment).
        nodeInit: nodeInitCommands(env),
        // And the S3-compatible store its aws: job stores are in, which their jobs open too.
        s3Variables: nodeS3Variables(env),
        owner: env.TOIL_OWNER_TAG ?? userInfo().username,
        extraTags: p.tags,
        nodeStorageGiB: p.nodeStorageGiB ?? DEFAULT_NODE_STORAGE_GIB,
        leaderStorageGiB: 50,
        clusterType,
      };
    }
    cleanups.push(async () => ec2.destroy());
    // The provisioner the tick drives makes one attempt per call (the tick retries); setting up
    // the embedded cluster, outside any tick, retries on its own.
    const calls = new Ec2Calls({
      client: ec2,
      clock: options.clock,
      log,
      retry: SINGLE_ATTEMPT,
      ...(endpointInUse && { endpoint: endpointInUse }),
    });
    const provisioner = new AwsProvisioner({ calls, settings, clock: options.clock, log });
    if (p.kind === 'embedded')
      await makeEmbeddedCluster({
        ec2,
        settings,
        clusterName: p.clusterName,
        zone: p.zone,
        clock: options.clock,
        log,
      });

    const { tickStore, runStore, historyStore } = leaderStateStores(stateStore);
    const storeOptions = { env, log, clock: options.clock };
    const tokenFile = cfg.http.auth.tokenFile ?? defaultTokenFile(cfg.jobStore, options.cwd);
    const { token, created, exposedMode } = await loadOrCreateToken(tokenFile);
    // Said at every start: a 401 does not name the file to a client that has no token.
    log.info(
      { tokenFile },
      created
        ? 'created the leader token (submitting and cancelling workflows need it)'
        : 'the leader token (submitting and cancelling workflows need it) is in its token file',
    );
    if (exposedMode !== undefined)
      log.warn(
        { tokenFile, mode: exposedMode.toString(8) },
        `the leader token file was readable by others (mode ${exposedMode.toString(8)}): made it 0600; whoever could read it may hold the token, which runs code as the leader: delete the file and restart the leader to make a new one`,
      );
    const daemon = new LeaderDaemon({
      clock: options.clock,
      log,
      metrics: options.metrics,
      config: options.config,
      provisioner,
      tickStore,
      ...(options.resumeWorkflows === false ? {} : { runStore, historyStore }),
      auth: { token, metrics: cfg.http.auth.metrics, status: cfg.http.auth.status },
      newBatchSystem: (submission) => engine.newBatchSystem(openJobStore(submission.jobStore, storeOptions)),
      killRequested: async (submission) =>
        (await pendingKillRequest(openJobStore(submission.jobStore, storeOptions))) !== undefined,
      idleClusterAgents: () => engine.idleClusterAgents(),
      ...(engine.sharedNodes ? { sharedNodes: engine.sharedNodes } : {}),
      runWorkflow: async (
        submission,
        batchSystem,
        onProgress,
        signal,
        workflowId,
        roomOnItsWay,
        aroundCode,
        bundleFile,
        onArgsTaken,
        onAttemptLost,
        onNotice,
      ) => {
        const store = openJobStore(submission.jobStore, storeOptions);
        const exists = await store.exists();
        const o = submission.options ?? {};
        const outcome = await runWorkflow({
          store,
          workflowFile: submission.workflowFile,
          args: submission.args,
          restart: o.restart ?? exists,
          // A submission over HTTP resumes an existing store by itself: submitting again is the
          // restart (what `toil run --leader` says of a failed run). A run of its own has --restart.
          ...(o.restart === undefined ? { resumeAdvice: 'submit it again to restart it' } : {}),
          clean: o.clean ?? submission.clean ?? 'onSuccess',
          retryCount: o.retryCount ?? submission.retryCount ?? 1,
          ...givenOnly({
            servicePollMs: o.servicePollMs ?? submission.servicePollMs,
            deadlockWaitMs: o.deadlockWaitMs ?? submission.deadlockWaitMs,
            maxJobDurationMs: o.maxJobDurationMs ?? submission.maxJobDurationMs,
            maxServiceJobs: o.maxServiceJobs ?? submission.maxServiceJobs,
            maxPreemptableServiceJobs: o.maxPreemptableServiceJobs ?? submission.maxPreemptableServiceJobs,
            maxJobs: o.maxJobs ?? submission.maxJobs,
          }),
          // Toil's --maxCores, --maxMemory and --maxDisk: the most one job may ask for, on this cluster too.
          jobLimits: givenOnly({
            maxCores: o.maxCores ?? submission.maxCores,
            maxMemory: o.maxMemory ?? submission.maxMemory,
            maxDisk: o.maxDisk ?? submission.maxDisk,
          }),
          // A node booting for the waiting jobs is no service deadlock (see WorkflowRunnerOptions).
          ...((o.stopOnFirstFailure ?? submission.stopOnFirstFailure) ? { stopOnFirstFailure: true } : {}),
          roomOnItsWay,
          onArgsTaken,
          // Only what the scaler may launch is judged: a cluster with static workers has room
          // beside that the check does not count, so it is not judged.
          checkServicesTogether: (host, services, beside) => {
            if (daemon.scaler.unowned.length === 0)
              checkServicesTogether(host, services, beside, options.config().scaler, scalerSettings());
          },
          // The same for each job alone: one no type the scaler may launch fits whole waited
          // silently (the batch system's largest node bounds each resource on its own). Judged
          // once a tick has listed the cluster, so a static worker that may run it is known.
          checkLaunchable: (job, addedWith) => {
            if (daemon.scaler.lastCompletedAt !== undefined && daemon.scaler.unowned.length === 0)
              checkJobLaunchable(job, options.config().scaler, addedWith, scalerSettings());
          },
          ...preemptableRetriesOf(o.preemptableRetries ?? submission.preemptableRetries),
          ...((o.env ?? submission.env) ? { env: o.env ?? submission.env } : {}),
          onJobLost: (e) => {
            if (e.next === 'moved-to-on-demand') options.metrics.jobsMovedToOnDemand.inc();
          },
          onAttemptLost,
          defaults: {
            ...submissionDefaults(submission),
            preemptable: submission.defaultPreemptable ?? false,
          },
          batchSystem,
          clock: options.clock,
          log,
          // The lease says a daemon holds the store: `toil kill --force` must stop this workflow,
          // not SIGKILL the process that runs every other one and the scaler.
          lease: {
            holder: {
              ...localHolder(),
              daemon: { workflowId, ...(options.resumeWorkflows === false ? { run: true as const } : {}) },
            },
          },
          workerCommand,
          // Its scratch and module cache go where toil run's go (TOIL_WORKDIR, else the temp
          // dir), where the sweep of killed leaders' scratch looks too: never its working directory.
          workDir: o.workDir ?? workDirOf(undefined, env),
          onProgress,
          signal,
          ...(o.bundle ? { bundle: o.bundle } : { bundleFile }),
          // A submission's bundle is its workflow file as it is now: submitted again to a kept store
          // (fix the bug, then --restart, as in Toil), the jobs issued from then on run it.
          ...(o.bundle ? { restartWithFile: true } : {}),
          ...(o.onJobLog ? { onJobLog: o.onJobLog } : {}),
          ...(o.onJobEvent ? { onJobEvent: o.onJobEvent } : {}),
          // The workflow's own code runs in a process of its own: its throw, hang or crash fails
          // this run and nothing else. Its calls are marked, so that if it kills the daemon all
          // the same (a signal to its parent) only this run is charged for the restart.
          code: guardedWorkflowCode(
            new IsolatedWorkflowCode({
              command: [...toilCommand(), 'workflow-host'],
              clock: options.clock,
              log,
              timeouts: {
                start: options.config().workflows.startTimeout,
                finish: options.config().workflows.finishTimeout,
                load: options.config().workflows.loadTimeout,
              },
              workflowFile: submission.workflowFile,
              signal,
              onNotice,
            }),
            aroundCode,
          ),
        });
        return outcome.status === 'succeeded'
          ? { status: 'succeeded', jobsRun: outcome.jobsRun, replayed: outcome.replayed }
          : {
              status: 'failed',
              jobsRun: outcome.jobsRun,
              replayed: outcome.replayed,
              message: outcome.failures.map((f) => `${f.name}: ${f.reason.split('\n')[0]}`).join('; '),
              failedJobs: outcome.failures.slice(0, MAX_FAILED_JOBS_SHOWN).map(failedJobSummary),
            };
      },
      readiness: [
        { name: 'jobStore', check: async () => void (await stateStore.exists()) },
        engine.readiness,
      ],
    });
    const url = await daemon.start();
    return {
      daemon,
      url,
      ...(embedded ? { embedded } : {}),
      stateLost: lost,
      checkReload: (next) => {
        if (image) checkLeaderRootVolumes(next, image);
      },
      async stop() {
        try {
          await daemon.stop();
        } finally {
          await cleanup();
        }
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** A second leader on one leader state, said as such (the lease's own words speak of job stores). */
function leaderStateLeased(stateLocator: string, e: ToilError): UserInputError {
  const { holder, until } = e.details as { holder: string; until: string };
  return new UserInputError(
    'LEADER_STATE_LEASED',
    `leader state ${stateLocator} (jobStore in the config) is in use by ${holder.replace(/^the leader/, 'the toil leader')} until ${until} ` +
      '(expected one leader per state: stop that one, or give this one another jobStore; a leader that died on another machine releases it when its lease expires)',
    { stateLocator, holder, until },
  );
}

/**
 * The daemon scales a cluster that `toil launch-cluster` made: its workers' user data points at the
 * cluster's leader. Without one (a mistyped name or zone) every launch would fail, tick after tick,
 * while the daemon looked healthy; refused here instead, with the clusters the region does have.
 */
async function requireClusterLeader(cluster: AwsCluster, region: string, configPath: string): Promise<void> {
  if ((await cluster.liveInstances()).some((n) => n.role === 'leader')) return;
  const here = await cluster.clusterNamesInRegion();
  throw new UserInputError(
    'CLUSTER_NOT_FOUND',
    `provisioner.clusterName '${cluster.clusterName}': no such cluster in region ${region} ` +
      `(no leader instance tagged clusterName=${cluster.clusterName}); ${clustersHere(here)}; ` +
      `check provisioner.clusterName and provisioner.zone in ${configPath} (toil launch-cluster makes a cluster)`,
    { clusterName: cluster.clusterName, region, clustersHere: here },
  );
}

/** A run's spot-loss cap: the number given, `unlimited` (Toil's --enableUnlimitedPreemptibleRetries), else the default. */
/**
 * The submitter's options that were given (--servicePollingInterval, --deadlockWait,
 * --maxJobDuration, --maxServiceJobs, --maxPreemptableServiceJobs, --maxJobs, --maxCores, --maxMemory,
 * --maxDisk); the others keep the runner's defaults.
 */
function givenOnly<K extends string>(options: Record<K, number | undefined>): Partial<Record<K, number>> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<
    Record<K, number>
  >;
}

function preemptableRetriesOf(given: number | 'unlimited' | undefined): { preemptableRetries?: number } {
  if (given === undefined) return {};
  return { preemptableRetries: given === 'unlimited' ? Number.POSITIVE_INFINITY : given };
}
