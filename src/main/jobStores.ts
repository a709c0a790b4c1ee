/** Job stores and their storage, as a locator names them (`file:PATH`, `aws:REGION:NAME`). */
import type { Readable } from 'node:stream';
import { JobStore } from '../jobstore/jobStore.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { FileObjectStore } from '../jobstore/fileObjectStore.js';
import { parseLocator, type Locator } from '../jobstore/locator.js';
import {
  assertValidKey,
  type ObjectInfo,
  type ObjectStore,
  type PutConditions,
  type StoredObject,
} from '../jobstore/objectStore.js';
import type { Env } from './env.js';
import { s3EndpointOf } from './s3Endpoint.js';
import { TAG_OWNER } from '../provisioner/aws/tags.js';
import { parseTagsJson } from '../provisioner/cluster/validate.js';

export interface OpenObjectStoreOptions {
  /** Defaults to process.env. Read for the S3 endpoint (s3Endpoint.ts) and AWS credentials. */
  readonly env?: Env;
  /** Relative `file:` paths resolve against this; defaults to process.cwd(). */
  readonly cwd?: string;
  /** Called once per HTTP request the S3 client sends (retries included), with its operation. */
  readonly onRequest?: (operation: string) => void;
  /** Tags for the bucket an `aws:` job store's create() makes; default `jobStoreTags(env)`. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Multipart part size for `aws:` stores (bytes, at least 5 MiB). */
  readonly partSize?: number;
  readonly log?: Logger;
  /** An `aws:` store's own key layout, besides the lease record (see S3ObjectStoreOptions). */
  readonly ownKeys?: (key: string) => boolean;
  /** With `log`: an `aws:` store warns on it when S3 stops answering (see watchS3Stalls). */
  readonly clock?: Clock;
  /** Who waits on a silent S3, as its warning names it (watchS3Stalls' `waiter`). */
  readonly waiter?: string;
}

/**
 * The tags of a job store's bucket, as Toil's: TOIL_OWNER_TAG as `Owner`, and TOIL_AWS_TAGS over
 * it. A cluster's nodes have its `clusterName` there, which is how destroy-cluster finds the job
 * stores made on it.
 */
export function jobStoreTags(env: Env): Record<string, string> {
  const owner = env.TOIL_OWNER_TAG?.trim();
  return { ...(owner ? { [TAG_OWNER]: owner } : {}), ...parseTagsJson(env.TOIL_AWS_TAGS) };
}

/**
 * The job store storage a locator names: `file:PATH` (or a bare path) → a directory;
 * `aws:REGION:NAME` → the S3 bucket `NAME--toil` in REGION. Throws `InvalidLocatorError`.
 */
export function openObjectStore(locatorText: string, options: OpenObjectStoreOptions = {}): ObjectStore {
  const locator = parseLocator(locatorText, options.cwd);
  if (locator.kind === 'file') {
    // In the run's log when it has one; a command that only reads the store (it names itself
    // the waiter) says it on stderr.
    const log = options.waiter === undefined ? options.log : undefined;
    return new FileObjectStore(locator.path, locator.text, {
      onForeign: log
        ? (message) => log.warn({ jobStore: locator.text }, message)
        : (message) => void process.stderr.write(`toil: warning: ${message}\n`),
    });
  }
  return new LazyS3ObjectStore(locator, options);
}

/**
 * An `aws:` store whose S3 client and adapter are loaded at its first call: the AWS SDK's S3 client
 * costs half a second of CPU to import, which every worker process of a `file:` store (one per
 * job) would otherwise pay too.
 */
class LazyS3ObjectStore implements ObjectStore {
  readonly locator: string;
  readonly absoluteLocator: string;
  /** As S3ObjectStore has them: the bucket (`NAME--toil`) and its region. */
  readonly bucket: string;
  readonly region: string;
  private loaded: Promise<ObjectStore> | undefined;
  private readonly load: () => Promise<ObjectStore>;

  constructor(locator: Extract<Locator, { kind: 'aws' }>, options: OpenObjectStoreOptions) {
    this.locator = locator.text;
    this.absoluteLocator = `aws:${locator.region}:${locator.name}`;
    this.bucket = locator.bucket;
    this.region = locator.region;
    const env = options.env ?? process.env;
    // Read when the store is opened, so a mistake in the endpoint's variables is the user's one
    // line before anything runs, not a failure of the store's first call.
    const { url: endpoint, setBy } = s3EndpointOf(locator.region, env);
    const tags = options.tags ?? jobStoreTags(env);
    this.load = async () => {
      const [{ S3ObjectStore }, { createS3Client }, { watchS3Stalls }, { checkToilAwsProfile }] =
        await Promise.all([
          import('../jobstore/s3ObjectStore.js'),
          import('./s3Client.js'),
          import('../jobstore/s3StallWatch.js'),
          import('./awsClients.js'),
        ]);
      await checkToilAwsProfile(env);
      const client = createS3Client(locator.region, env, options.onRequest);
      if (options.log && options.clock)
        watchS3Stalls(client, {
          endpoint,
          bucket: locator.bucket,
          log: options.log,
          clock: options.clock,
          ...(options.waiter !== undefined && { waiter: options.waiter }),
        });
      return new S3ObjectStore({
        client,
        locator,
        endpoint,
        endpointSetBy: setBy,
        tags,
        ...(options.partSize !== undefined && { partSize: options.partSize }),
        ...(options.log && { log: options.log }),
        ...(options.ownKeys && { ownKeys: options.ownKeys }),
      });
    };
  }

  private store(): Promise<ObjectStore> {
    return (this.loaded ??= this.load());
  }

  async enforcesConditions(): Promise<boolean> {
    return (await this.store()).enforcesConditions();
  }
  async create(): Promise<void> {
    return (await this.store()).create();
  }
  async exists(): Promise<boolean> {
    return (await this.store()).exists();
  }
  async assertOurs(): Promise<void> {
    return (await this.store()).assertOurs();
  }
  async destroy(): Promise<void> {
    return (await this.store()).destroy();
  }
  async finishCutShortDestroy(): Promise<boolean> {
    return (await this.store()).finishCutShortDestroy();
  }
  async isCutShortDestroy(): Promise<boolean> {
    return (await this.store()).isCutShortDestroy();
  }
  async removeEmpty(): Promise<boolean> {
    return (await this.store()).removeEmpty();
  }
  async removeAbandonedTemporaries(): Promise<{ count: number; bytes: number }> {
    return (await this.store()).removeAbandonedTemporaries();
  }
  async get(key: string): Promise<StoredObject | undefined> {
    return (await this.store()).get(key);
  }
  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.store()).head(key);
  }
  async put(key: string, body: Uint8Array | string, conditions?: PutConditions): Promise<ObjectInfo> {
    return (await this.store()).put(key, body, conditions);
  }
  async putStream(key: string, body: Readable): Promise<ObjectInfo> {
    return (await this.store()).putStream(key, body);
  }
  async getStream(key: string): Promise<Readable> {
    return (await this.store()).getStream(key);
  }
  /** Said without loading the S3 client: the URI needs only the bucket. */
  whereIs(key: string): string {
    assertValidKey(key);
    return `s3://${this.bucket}/${key}`;
  }
  async delete(key: string): Promise<void> {
    return (await this.store()).delete(key);
  }
  async deleteMany(keys: readonly string[]): Promise<void> {
    return (await this.store()).deleteMany(keys);
  }
  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    yield* (await this.store()).list(prefix, options);
  }
}

/** The module of the thread a leader looks for a `toil kill` in while a workflow's call blocks it. */
export const KILL_WATCH_THREAD: URL = new URL('./killWatchThread.js', import.meta.url);

/** The job store a locator names (see `openObjectStore`). */
export function openJobStore(locatorText: string, options: OpenObjectStoreOptions = {}): JobStore {
  return new JobStore(openObjectStore(locatorText, options));
}
