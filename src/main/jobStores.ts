/** Job stores and their storage, as a locator names them (`file:PATH`, `aws:REGION:NAME`). */
import { JobStore } from '../jobstore/jobStore.js';
import type { Logger } from '../common/log.js';
import { FileObjectStore } from '../jobstore/fileObjectStore.js';
import { parseLocator } from '../jobstore/locator.js';
import type { ObjectStore } from '../jobstore/objectStore.js';
import { S3ObjectStore } from '../jobstore/s3ObjectStore.js';
import { createS3Client } from './awsClients.js';
import type { Env } from './env.js';

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

/** The job store a locator names (see `openObjectStore`). */
export function openJobStore(locatorText: string, options: OpenObjectStoreOptions = {}): JobStore {
  return new JobStore(openObjectStore(locatorText, options));
}
