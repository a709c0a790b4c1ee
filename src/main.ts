/**
 * The composition root: the only module that builds concrete clients (AWS SDK, Mesos, HTTP) and
 * reads the environment, and wires them into the ports the rest of the code takes. CLI entry
 * points call the factories below; nothing else imports an adapter directly.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { existsSync, statfsSync } from 'node:fs';
import { availableParallelism, hostname, totalmem, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from './common/clock.js';
import { UserInputError } from './common/errors.js';
import { JobStore } from './jobstore/jobStore.js';
import type { BatchSystem } from './leader/batchSystem.js';
import { SingleMachineBatchSystem } from './leader/singleMachine.js';
import type { Logger } from './common/log.js';
import { FileObjectStore } from './jobstore/fileObjectStore.js';
import { parseLocator } from './jobstore/locator.js';
import type { ObjectStore } from './jobstore/objectStore.js';
import { S3ObjectStore } from './jobstore/s3ObjectStore.js';
import { MesosBatchSystem } from './mesos/batchSystem.js';
import { MesosMasterClient } from './mesos/masterClient.js';
import { MemoryFrameworkIdStore, MesosSchedulerClient, type FrameworkIdStore } from './mesos/scheduler.js';

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
  readonly env?: Env;
}

/** The batch system `--batchSystem` names. Throws UserInputError for one that is not available. */
export function createBatchSystem(
  name: 'single_machine' | 'mesos',
  options: CreateBatchSystemOptions,
): BatchSystem {
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
    return createMesosBatchSystem(options.mesosMaster ?? '127.0.0.1:5050', {
      clock: options.clock,
      log: options.log,
    });
  }
  throw new UserInputError(
    'BATCH_SYSTEM_UNAVAILABLE',
    `--batchSystem ${String(name)} is not available (expected single_machine or mesos)`,
    { batchSystem: name },
  );
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
