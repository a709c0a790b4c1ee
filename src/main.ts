/**
 * The composition root: the only module that builds concrete clients (AWS SDK, Mesos, HTTP) and
 * reads the environment, and wires them into the ports the rest of the code takes. CLI entry
 * points call the factories below; nothing else imports an adapter directly.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2Calls } from './provisioner/aws/ec2Calls.js';
import { S3Client } from '@aws-sdk/client-s3';
import { existsSync, statfsSync } from 'node:fs';
import { availableParallelism, hostname, totalmem, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from './common/clock.js';
import { UserInputError } from './common/errors.js';
import { JobStore } from './jobstore/jobStore.js';
import type { BatchSystem } from './ports/batchSystem.js';
import { SingleMachineBatchSystem } from './leader/singleMachine.js';
import type { Logger } from './common/log.js';
import { FileObjectStore } from './jobstore/fileObjectStore.js';
import { parseLocator } from './jobstore/locator.js';
import type { ObjectStore } from './jobstore/objectStore.js';
import { S3ObjectStore } from './jobstore/s3ObjectStore.js';
import { MesosBatchSystem, idleClusterAgents } from './mesos/batchSystem.js';
import { MesosMasterClient } from './mesos/masterClient.js';
import { MemoryFrameworkIdStore, MesosSchedulerClient, type FrameworkIdStore } from './mesos/scheduler.js';
import { SlurmBatchSystem } from './slurm/batchSystem.js';
import { SlurmCli } from './slurm/cli.js';
import type { LeaderDaemon, RunStore, WorkflowRun } from './leader/daemon.js';
import type { LeaderConfig } from './leader/leaderConfig.js';
import type { LeaderMetrics } from './leader/metrics.js';
import type { TickState, TickStateStore } from './scaler/tick/state.js';
import type { AwsClusterSettings } from './provisioner/aws/awsProvisioner.js';

/** The environment a factory reads; `process.env` unless a caller (a test) passes its own. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Every AWS SDK client warns on Node 20 that later SDK releases will need Node 22. Users can do
 * nothing about it at run time, so it is silenced before any client is built (the SDK reads this
 * variable from process.env when a client is constructed). A user's explicit setting wins.
 */
export function silenceAwsSdkNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

// ---------------------------------------------------------------------------------------------
// Job store

export interface OpenObjectStoreOptions {
  /** Defaults to process.env. Read for AWS_ENDPOINT_URL_S3 and AWS credentials. */
  readonly env?: Env;
  /** Relative `file:` paths resolve against this; defaults to process.cwd(). */
  readonly cwd?: string;
  /** Called once per HTTP request the S3 client sends (retries included), with its operation. */
  readonly onRequest?: (operation: string) => void;
  /** Tags for the bucket an `aws:` job store's create() makes. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Multipart part size for `aws:` stores (bytes, at least 5 MiB). */
  readonly partSize?: number;
  readonly log?: Logger;
}

/**
 * The job store storage a locator names: `file:PATH` (or a bare path) → a directory;
 * `aws:REGION:NAME` → the S3 bucket `NAME--toil` in REGION. Throws `InvalidLocatorError`.
 */
export function openObjectStore(locatorText: string, options: OpenObjectStoreOptions = {}): ObjectStore {
  const locator = parseLocator(locatorText, options.cwd);
  if (locator.kind === 'file') return new FileObjectStore(locator.path, locator.text);
  const client = createS3Client(locator.region, options.env ?? process.env, options.onRequest);
  return new S3ObjectStore({
    client,
    locator,
    ...(options.tags && { tags: options.tags }),
    ...(options.partSize !== undefined && { partSize: options.partSize }),
    ...(options.log && { log: options.log }),
  });
}

/**
 * An S3 client for `region`. `AWS_ENDPOINT_URL_S3` (the SDK's standard variable) points it at an
 * S3-compatible server such as moto or s3rver, which only speak path-style addressing.
 * Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from `env` when set there, else the SDK's
 * default chain (profile, SSO, instance role, ...).
 */
export function createS3Client(region: string, env: Env, onRequest?: (operation: string) => void): S3Client {
  silenceAwsSdkNodeVersionWarning();
  const endpoint = env.AWS_ENDPOINT_URL_S3?.trim() || undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const client = new S3Client({
    region,
    ...(endpoint !== undefined && { endpoint, forcePathStyle: true }),
    ...(accessKeyId &&
      secretAccessKey && {
        credentials: {
          accessKeyId,
          secretAccessKey,
          ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }),
        },
      }),
    // Checksums only where S3 demands them: s3rver stores the aws-chunked framing of streamed
    // bodies as the object's bytes otherwise. S3 still verifies Content-MD5/TLS integrity.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (onRequest) {
    // The deserialize step sits inside the retry loop, so this runs once per HTTP attempt.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        onRequest(context.commandName?.replace(/Command$/, '') ?? 'unknown');
        return next(args);
      },
      { step: 'deserialize', name: 'toilCountS3Requests', priority: 'low' },
    );
  }
  return client;
}

// ---------------------------------------------------------------------------------------------
// Workflows: job store, batch systems, worker command

/** The job store a locator names (see `openObjectStore`). */
export function openJobStore(locatorText: string, options: OpenObjectStoreOptions = {}): JobStore {
  return new JobStore(openObjectStore(locatorText, options));
}

/** The argv prefix that runs this copy of `toil` (node and bin/toil.js), for worker processes. */
export function toilCommand(): string[] {
  return [process.execPath, join(packageRoot(), 'bin', 'toil.js')];
}

/** The argv that runs one attempt of one job in a fresh worker process (see IssuedJob.command). */
export function workerCommand(locator: string, jobId: string, attempt: number): string[] {
  return [...toilCommand(), 'worker', locator, jobId, '--attempt', String(attempt)];
}

function packageRoot(): string {
  // src/main.ts when run from source, dist/src/main.js when built.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'toil.js'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the toil-ts package root');
}

/** This machine's cores, memory and the size of the file system holding `dir`: single_machine's defaults. */
export function machineResources(dir: string = process.cwd()): {
  cores: number;
  memory: number;
  disk: number;
} {
  const fs = statfsSync(dir);
  return { cores: availableParallelism(), memory: totalmem(), disk: fs.blocks * fs.bsize };
}

export interface CreateBatchSystemOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** single_machine limits; default this machine's (`machineResources`). */
  readonly maxCores?: number;
  readonly maxMemory?: number;
  readonly maxDisk?: number;
  /** single_machine: keep worker processes warm between jobs (default true). */
  readonly warmWorkers?: boolean;
  /** mesos: the master's host:port (--mesosMaster / --mesosEndpoint). */
  readonly mesosMaster?: string;
  /** mesos: the workflow's job store, which keeps the framework id across --restart. */
  readonly jobStore?: JobStore;
  /** slurm: the partition jobs go to (--slurmPartition; default the cluster's default partition). */
  readonly slurmPartition?: string;
  /** slurm: the directory jobs start in. */
  readonly workDir?: string;
  readonly env?: Env;
}

/** The batch system `--batchSystem` names. Throws UserInputError for one that is not available. */
export function createBatchSystem(
  name: 'single_machine' | 'mesos' | 'slurm',
  options: CreateBatchSystemOptions,
): BatchSystem {
  if (name === 'slurm') return createSlurmBatchSystem(options);
  if (name === 'single_machine') {
    const machine = machineResources();
    return new SingleMachineBatchSystem({
      maxCores: options.maxCores ?? machine.cores,
      maxMemory: options.maxMemory ?? machine.memory,
      maxDisk: options.maxDisk ?? machine.disk,
      clock: options.clock,
      log: options.log,
      ...(options.warmWorkers === false
        ? {}
        : { warmWorkerCommand: [...toilCommand(), 'worker', '--serve'] }),
      ...(options.env ? { env: options.env } : {}),
    });
  }
  if (name === 'mesos') {
    const store = options.jobStore;
    return createMesosBatchSystem(options.mesosMaster ?? '127.0.0.1:5050', {
      clock: options.clock,
      log: options.log,
      ...(store
        ? {
            frameworkIdStore: {
              load: () => store.readFrameworkId(),
              save: (id: string | undefined) => store.writeFrameworkId(id),
            },
          }
        : {}),
    });
  }
  throw new UserInputError(
    'BATCH_SYSTEM_UNAVAILABLE',
    `--batchSystem ${String(name)} is not available (expected single_machine, mesos or slurm)`,
    { batchSystem: name },
  );
}

/**
 * The Slurm batch system through Slurm's own tools. SLURM_CONF (Slurm's variable) names the
 * cluster's slurm.conf when it is not the system's; TOIL_SLURM_ARGS adds sbatch flags, as in Toil.
 */
export function createSlurmBatchSystem(
  options: Pick<CreateBatchSystemOptions, 'clock' | 'log' | 'env' | 'slurmPartition' | 'workDir'>,
): SlurmBatchSystem {
  const env = options.env ?? process.env;
  const extraArgs = (env.TOIL_SLURM_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  return new SlurmBatchSystem({
    cli: new SlurmCli(env.SLURM_CONF ? { conf: env.SLURM_CONF } : {}),
    clock: options.clock,
    log: options.log,
    ...(options.slurmPartition ? { partition: options.slurmPartition } : {}),
    ...(options.workDir ? { workDir: options.workDir } : {}),
    ...(extraArgs.length > 0 ? { extraArgs } : {}),
  });
}

/**
 * The Mesos batch system against the master at `address` (host:port). The framework id lives in
 * `frameworkIdStore` (in memory unless the caller keeps it somewhere that survives the leader);
 * the failover timeout is a week, so a leader restart does not kill running tasks.
 */
export function createMesosBatchSystem(
  address: string,
  options: {
    clock: Clock;
    log: Logger;
    frameworkIdStore?: FrameworkIdStore;
    failoverTimeoutSeconds?: number;
  },
): MesosBatchSystem {
  const master = new MesosMasterClient(address);
  const scheduler = new MesosSchedulerClient({
    master: master.endpoint,
    framework: {
      name: 'toil',
      user: userInfo().username,
      hostname: hostname(),
      failoverTimeoutSeconds: options.failoverTimeoutSeconds ?? 7 * 24 * 3600,
    },
    frameworkIdStore: options.frameworkIdStore ?? new MemoryFrameworkIdStore(),
    clock: options.clock,
    log: options.log,
  });
  return new MesosBatchSystem({ scheduler, master, clock: options.clock, log: options.log });
}

// ---------------------------------------------------------------------------------------------
// The leader daemon (`toil leader`, `npm start`). Modules load lazily: other commands never pay
// for the local cloud, fastify or the EC2 client.

export interface StartedLeader {
  readonly daemon: LeaderDaemon;
  /** Where /healthz, /status and /metrics are served. */
  readonly url: string;
  /** The local cloud's addresses when the config says `embedded`. */
  readonly embedded?: { readonly ec2Url: string; readonly mesosMaster: string };
  /** Stops the daemon (graceful) and everything this factory started. */
  stop(): Promise<void>;
}

/**
 * Builds and starts the leader daemon from a parsed config: the job store for its own state, the
 * provisioner (AWS, or the local EC2 endpoint with `provisioner.kind: embedded`), one Mesos batch
 * system per submitted workflow (the local master with `mesosMaster: embedded`), HTTP.
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
}): Promise<StartedLeader> {
  const [
    { EC2Client },
    { Ec2Calls, DEFAULT_RETRY, SINGLE_ATTEMPT },
    { AwsCluster },
    { AwsProvisioner },
    { LeaderDaemon },
  ] = await Promise.all([
    import('@aws-sdk/client-ec2'),
    import('./provisioner/aws/ec2Calls.js'),
    import('./provisioner/aws/awsCluster.js'),
    import('./provisioner/aws/awsProvisioner.js'),
    import('./leader/daemon.js'),
  ]);
  const { runWorkflow } = await import('./leader/runWorkflow.js');
  const { IsolatedWorkflowCode } = await import('./leader/workflowHost.js');
  const { loadOrCreateToken, defaultTokenFile } = await import('./leader/auth.js');
  const cfg = options.config();
  const env = options.env ?? process.env;
  const log = options.log;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    // The master and the EC2 endpoint of the local cloud, when embedded.
    let mesosMaster = cfg.batchSystem.mesosMaster;
    let embedded: { ec2Url: string; mesosMaster: string } | undefined;
    if (mesosMaster === 'embedded') {
      const { startMesosMaster } = await import('./localcloud/mesos/masterServer.js');
      const master = await startMesosMaster({ host: '127.0.0.1', port: 0, clock: options.clock, log });
      cleanups.push(() => master.stop());
      mesosMaster = master.address;
    }
    silenceAwsSdkNodeVersionWarning();
    let ec2: InstanceType<typeof EC2Client>;
    let settings: AwsClusterSettings;
    const p = cfg.provisioner;
    if (p.kind === 'embedded') {
      const [{ startEc2Endpoint }, { startAgentProcess }, { LOCAL_IMAGE }] = await Promise.all([
        import('./localcloud/ec2/index.js'),
        import('./localcloud/mesos/agentProcess.js'),
        import('./localcloud/ec2/catalogue.js'),
      ]);
      const endpoint = await startEc2Endpoint({
        clock: options.clock,
        log,
        host: '127.0.0.1',
        region: cfg.scaler.region,
        bootDelayMs: cfg.localcloud.bootDelay,
        shutdownDelayMs: cfg.localcloud.shutdownDelay,
        mesosMaster,
        faults: cfg.localcloud.faults,
        // Agents report their instance's private address as hostname (as on AWS), which is how
        // the scaler ties an agent to its instance.
        launcher: {
          startAgent: (spec) => {
            const h = startAgentProcess({
              master: spec.master,
              resources: `cpus:${spec.cpus};mem:${spec.memoryMiB};disk:${spec.diskMiB}`,
              attributes: Object.entries(spec.attributes)
                .map(([k, v]) => `${k}:${v}`)
                .join(';'),
              hostname: spec.privateIp,
              port: 0,
              env: {
                AWS_EC2_METADATA_SERVICE_ENDPOINT: spec.imdsEndpoint,
                TOIL_INSTANCE_ID: spec.instanceId,
              },
              logLevel: 'warn',
            });
            return { pid: h.pid, stop: () => h.stop() };
          },
        },
      });
      cleanups.push(() => endpoint.stop());
      embedded = { ec2Url: endpoint.url, mesosMaster };
      ec2 = new EC2Client({
        region: endpoint.region,
        endpoint: endpoint.url,
        credentials: { accessKeyId: 'AKIDLOCALCLOUD000000', secretAccessKey: 'local-cloud-not-a-secret' },
        // The scaler tick's retry layer is the only one (src/scaler/tick/calls.ts).
        maxAttempts: 1,
      });
      settings = {
        clusterName: p.clusterName,
        zone: p.zone,
        imageId: LOCAL_IMAGE.imageId,
        applianceImage: 'local',
        owner: userInfo().username,
        extraTags: {},
        nodeStorageGiB: 50,
        leaderStorageGiB: 50,
      };
    } else {
      // The same client the cluster utilities build (session tokens included), with one attempt:
      // the scaler tick's retry layer is the only one (src/scaler/tick/calls.ts).
      ec2 = await createEc2Client(p.region ?? p.zone.slice(0, -1), env, {
        ...(p.endpoint ? { endpoint: p.endpoint } : {}),
        maxAttempts: 1,
      });
      // The node image: the config's, TOIL_AWS_AMI, else the newest Flatcar stable (as Toil).
      let imageId = p.imageId ?? (env.TOIL_AWS_AMI?.trim() || undefined);
      if (imageId === undefined) {
        const calls = new Ec2Calls({ client: ec2, clock: options.clock, log, retry: DEFAULT_RETRY });
        imageId = await new AwsCluster({
          calls,
          clusterName: p.clusterName,
          clock: options.clock,
          log,
        }).flatcarImage();
        if (imageId === undefined)
          throw new UserInputError(
            'NO_NODE_IMAGE',
            'no Flatcar image found: set provisioner.imageId or TOIL_AWS_AMI',
          );
      }
      settings = {
        clusterName: p.clusterName,
        zone: p.zone,
        imageId,
        ...(p.keyPairName ? { keyName: p.keyPairName } : {}),
        applianceImage: p.applianceImage,
        owner: env.TOIL_OWNER_TAG ?? userInfo().username,
        extraTags: p.tags,
        nodeStorageGiB: p.nodeStorageGiB,
        leaderStorageGiB: 50,
      };
    }
    cleanups.push(async () => ec2.destroy());
    // The provisioner the tick drives makes one attempt per call (the tick retries); setting up
    // the embedded cluster, outside any tick, retries on its own.
    const calls = new Ec2Calls({ client: ec2, clock: options.clock, log, retry: SINGLE_ATTEMPT });
    const provisioner = new AwsProvisioner({ calls, settings, clock: options.clock, log });
    if (p.kind === 'embedded') {
      // The local cloud starts empty: make the cluster launch-cluster would have made.
      const setupCalls = new Ec2Calls({ client: ec2, clock: options.clock, log, retry: DEFAULT_RETRY });
      const setup = new AwsProvisioner({ calls: setupCalls, settings, clock: options.clock, log });
      const cluster = new AwsCluster({
        calls: setupCalls,
        clusterName: p.clusterName,
        clock: options.clock,
        log,
      });
      const { vpcId } = await cluster.defaultSubnet(p.zone);
      await cluster.ensureSecurityGroup({ vpcId, tags: { clusterName: p.clusterName } });
      if ((await setup.listNodes({ role: 'leader' })).length === 0)
        await setup.launch({
          offering: { instanceType: 't2.medium', zone: p.zone, market: 'on-demand' },
          count: 1,
          clientToken: `leader-${p.clusterName}`,
          role: 'leader',
        });
    }

    // The daemon's own state: a small JSON object in its job store.
    const stateStore = openObjectStore(cfg.jobStore, { env, ...(options.cwd ? { cwd: options.cwd } : {}) });
    if (!(await stateStore.exists())) await stateStore.create();
    const STATE_KEY = 'leader/tick-state.json';
    const tickStore: TickStateStore = {
      async load() {
        const o = await stateStore.get(STATE_KEY);
        return o ? (JSON.parse(Buffer.from(o.body).toString('utf8')) as TickState) : undefined;
      },
      async save(state) {
        await stateStore.put(STATE_KEY, JSON.stringify(state));
      },
    };
    const RUNS_KEY = 'leader/workflows.json';
    const runStore: RunStore = {
      async load() {
        const o = await stateStore.get(RUNS_KEY);
        return o ? (JSON.parse(Buffer.from(o.body).toString('utf8')) as WorkflowRun[]) : [];
      },
      async save(runs) {
        await stateStore.put(RUNS_KEY, JSON.stringify(runs));
      },
      async saveModule(id, bundle) {
        await stateStore.put(`leader/submissions/${id}.mjs`, bundle);
      },
      async loadModule(id) {
        return (await stateStore.get(`leader/submissions/${id}.mjs`))?.body;
      },
      async deleteModule(id) {
        await stateStore.delete(`leader/submissions/${id}.mjs`);
      },
    };
    const tokenFile = cfg.http.auth.tokenFile ?? defaultTokenFile(cfg.jobStore, options.cwd);
    const { token, created } = await loadOrCreateToken(tokenFile);
    if (created)
      log.info({ tokenFile }, 'created the leader token (submitting and cancelling workflows need it)');
    const masterClient = new MesosMasterClient(mesosMaster);
    const daemon = new LeaderDaemon({
      clock: options.clock,
      log,
      metrics: options.metrics,
      config: options.config,
      provisioner,
      tickStore,
      ...(options.resumeWorkflows === false ? {} : { runStore }),
      auth: { token, tokenFile, metrics: cfg.http.auth.metrics, status: cfg.http.auth.status },
      newBatchSystem: () => createMesosBatchSystem(mesosMaster, { clock: options.clock, log }),
      idleClusterAgents: () => idleClusterAgents(masterClient),
      runWorkflow: async (submission, batchSystem, onProgress, signal) => {
        const store = openJobStore(submission.jobStore, { env, log });
        const exists = await store.exists();
        const o = submission.options ?? {};
        const outcome = await runWorkflow({
          store,
          workflowFile: submission.workflowFile,
          args: submission.args,
          restart: o.restart ?? exists,
          clean: o.clean ?? 'onSuccess',
          retryCount: o.retryCount ?? 1,
          ...(o.preemptableRetries !== undefined ? { preemptableRetries: o.preemptableRetries } : {}),
          onJobLost: (e) => {
            if (e.next === 'moved-to-on-demand') options.metrics.jobsMovedToOnDemand.inc();
          },
          defaults: {
            ...(o.defaults ?? { cores: 1, memory: 2 * 2 ** 30, disk: 2 * 2 ** 30 }),
            preemptable: submission.defaultPreemptable ?? false,
          },
          batchSystem,
          clock: options.clock,
          log,
          workerCommand,
          workDir: o.workDir ?? options.cwd ?? process.cwd(),
          onProgress,
          signal,
          ...(o.bundle ? { bundle: o.bundle } : {}),
          // The workflow's own code runs in a process of its own: its throw, hang or crash fails
          // this run and nothing else.
          code: new IsolatedWorkflowCode({
            command: [...toilCommand(), 'workflow-host'],
            clock: options.clock,
            log,
            timeouts: {
              start: options.config().workflows.startTimeout,
              finish: options.config().workflows.finishTimeout,
              load: options.config().workflows.startTimeout,
            },
            workflowFile: submission.workflowFile,
            signal,
          }),
        });
        return outcome.status === 'succeeded'
          ? { status: 'succeeded', jobsRun: outcome.jobsRun }
          : {
              status: 'failed',
              jobsRun: outcome.jobsRun,
              message: outcome.failures.map((f) => `${f.name}: ${f.reason.split('\n')[0]}`).join('; '),
            };
      },
      readiness: [
        { name: 'jobStore', check: async () => void (await stateStore.exists()) },
        { name: 'mesosMaster', check: async () => void (await masterClient.version()) },
      ],
    });
    const url = await daemon.start();
    return {
      daemon,
      url,
      ...(embedded ? { embedded } : {}),
      async stop() {
        await daemon.stop();
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster utilities (launch-cluster, ssh-cluster, rsync-cluster, destroy-cluster)

/** What the cluster utilities take from the environment, read here and nowhere else. */
export interface ClusterEnvironment {
  readonly zone: string | undefined;
  /** A region the user configured explicitly (a zone outside it is an error). */
  readonly configuredRegion: { region: string; source: string } | undefined;
  readonly ownerTag: string | undefined;
  readonly tagsJson: string | undefined;
  readonly imageId: string | undefined;
  readonly appliance: {
    TOIL_APPLIANCE_SELF: string | undefined;
    TOIL_DOCKER_REGISTRY: string | undefined;
    TOIL_DOCKER_NAME: string | undefined;
  };
}

export function clusterEnvironment(env: Env = process.env): ClusterEnvironment {
  const regionVar = (['TOIL_AWS_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'] as const).find((k) =>
    env[k]?.trim(),
  );
  return {
    zone: env.TOIL_AWS_ZONE?.trim() || undefined,
    configuredRegion: regionVar ? { region: env[regionVar]!.trim(), source: regionVar } : undefined,
    ownerTag: env.TOIL_OWNER_TAG?.trim() || undefined,
    tagsJson: env.TOIL_AWS_TAGS,
    imageId: env.TOIL_AWS_AMI?.trim() || undefined,
    appliance: {
      TOIL_APPLIANCE_SELF: env.TOIL_APPLIANCE_SELF,
      TOIL_DOCKER_REGISTRY: env.TOIL_DOCKER_REGISTRY,
      TOIL_DOCKER_NAME: env.TOIL_DOCKER_NAME,
    },
  };
}

/**
 * An EC2 client for `region`. `AWS_ENDPOINT_URL_EC2` (the SDK's standard variable) points it at
 * the local cloud or moto. Credentials come from the SDK's default chain; for an endpoint on this
 * machine without any, placeholder keys are used (the local endpoint checks no signature).
 */
export async function createEc2Client(
  region: string,
  env: Env = process.env,
  options: { readonly endpoint?: string; readonly maxAttempts?: number } = {},
): Promise<EC2Client> {
  silenceAwsSdkNodeVersionWarning();
  const { EC2Client } = await import('@aws-sdk/client-ec2');
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_EC2?.trim() || undefined);
  const keys = clientCredentials(env, endpoint);
  return new EC2Client({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(keys ? { credentials: keys } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  });
}

/** An endpoint on this machine (the local cloud, moto), which checks no signature. */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  return (
    endpoint !== undefined && /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/.test(endpoint)
  );
}

/**
 * The keys a cluster utility's client signs with: the environment's, else placeholders for an
 * endpoint on this machine, else none (the SDK's default chain: profile, SSO, instance role).
 */
export function clientCredentials(
  env: Env,
  endpoint: string | undefined,
): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  return isLocalEndpoint(endpoint)
    ? { accessKeyId: 'AKIDLOCALCLOUD000000', secretAccessKey: 'local-cloud-not-a-secret' }
    : undefined;
}

/** The EC2 call layer (translation, retries) the cluster utilities use, for the zone's region. */
export async function createClusterCalls(options: {
  region: string;
  clock: Clock;
  log: Logger;
  env?: Env;
}): Promise<{ calls: Ec2Calls; readonly close: () => void }> {
  const { Ec2Calls, DEFAULT_RETRY } = await import('./provisioner/aws/ec2Calls.js');
  const client = await createEc2Client(options.region, options.env ?? process.env);
  const calls = new Ec2Calls({ client, clock: options.clock, log: options.log, retry: DEFAULT_RETRY });
  return { calls, close: () => client.destroy() };
}
