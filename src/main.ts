/**
 * The composition root: the only module that builds concrete clients (AWS SDK, Mesos, HTTP) and
 * reads the environment, and wires them into the ports the rest of the code takes. CLI entry
 * points call the factories below; nothing else imports an adapter directly.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from './common/log.js';
import { FileObjectStore } from './jobstore/fileObjectStore.js';
import { parseLocator } from './jobstore/locator.js';
import type { ObjectStore } from './jobstore/objectStore.js';
import { S3ObjectStore } from './jobstore/s3ObjectStore.js';

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
