import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { BucketLocationConstraint, CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../common/awsSdkPackages.js';
import type { Logger } from '../common/log.js';
import { silentLogger } from '../common/log.js';
import {
  CorruptJobStoreError,
  JobStoreAccessError,
  JobStoreExistsError,
  JobStoreNotFoundError,
  JobStoreNotOursError,
  JobStoreUnavailableError,
  JobStoreWrongRegionError,
  ObjectNotFoundError,
  PreconditionFailedError,
} from './errors.js';
import {
  checkBytes,
  checksumMismatch,
  damaged,
  integrityOf,
  RunningDigest,
  verifyingStream,
  type Integrity,
  type ObjectRef,
} from './integrity.js';
import { LEADER_KEY } from './lease.js';
import { endpointFailure } from '../common/unansweredEndpoint.js';
import type { Locator } from './locator.js';
import {
  assertValidKey,
  PROBE_PREFIX,
  type ObjectInfo,
  type ObjectStore,
  type PutConditions,
  type StoredObject,
} from './objectStore.js';

const {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
} = s3Sdk();

/** S3's floor for every multipart part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/**
 * Big enough that a typical job file is one PUT, small enough that two parts in flight stay
 * modest in memory on a small node. Fixed per store, so a file's multipart ETag is stable.
 */
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;
/** CopyObject's limit: a larger multipart object keeps S3's composite checksum instead (see putStream). */
const MAX_COPY_SIZE = 5 * 1024 ** 3;
/** User metadata (x-amz-meta-*) carrying each object's integrity; S3 lower-cases the names. */
const META_SHA256 = 'toil-sha256';
const META_LENGTH = 'toil-length';
const META_PART_SIZE = 'toil-part-size';

export interface S3ObjectStoreOptions {
  readonly client: S3Client;
  readonly locator: Extract<Locator, { kind: 'aws' }>;
  /** Bodies larger than this go up in parts of this size (at least 5 MiB). */
  readonly partSize?: number;
  /** Tags put on the bucket `create()` makes (e.g. Owner, TOIL_AWS_TAGS). */
  readonly tags?: Readonly<Record<string, string>>;
  /** ListObjectsV2 page size (S3's maximum, 1000, unless a test wants smaller pages). */
  readonly pageSize?: number;
  readonly log?: Logger;
  /**
   * The keys its user writes, when they are a layout of their own (the leader daemon's state): a
   * bucket holding nothing but such keys is ours even without the lease record, which versions
   * before the lease did not write.
   */
  readonly ownKeys?: (key: string) => boolean;
  /** The S3 endpoint the client sends to, named when nothing answers there. */
  readonly endpoint?: string;
  /** The variable(s) that set `endpoint` (default AWS_ENDPOINT_URL_S3), named with it. */
  readonly endpointSetBy?: string;
}

/**
 * A job store in one S3 bucket (`NAME--toil` in the locator's region). Keys are S3 keys verbatim.
 * Conditional writes are S3's own `If-None-Match: *` / `If-Match: etag` on PutObject; whether the
 * server honours them is probed, not assumed (s3rver ignores them). S3 errors are translated here,
 * once, into the job store's typed errors.
 *
 * Integrity: every object is written with S3's own SHA-256 checksum (`ChecksumAlgorithm: SHA256`;
 * S3 checks the body against it on receipt and keeps it) and with its length and SHA-256 in user
 * metadata. Reads ask for the stored checksum (`ChecksumMode: ENABLED`, which the SDK verifies
 * where the server returns one) and check the bytes against the metadata themselves, which also
 * works on servers that keep no checksums (s3rver). An object missing that metadata was not
 * written by this store and is reported damaged.
 */
export class S3ObjectStore implements ObjectStore {
  readonly locator: string;
  readonly absoluteLocator: string;
  readonly bucket: string;
  readonly region: string;

  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly pageSize: number;
  private readonly tags: Readonly<Record<string, string>>;
  private readonly log: Logger;
  private readonly ownKeys: ((key: string) => boolean) | undefined;
  private readonly endpoint: string | undefined;
  private readonly endpointSetBy: string;
  /** The job store's name (the bucket without `--toil`), for the locator a refusal suggests. */
  private readonly name: string;
  private conditionsProbe: Promise<boolean> | undefined;
  private regionCheck: Promise<void> | undefined;

  constructor(options: S3ObjectStoreOptions) {
    this.client = options.client;
    this.locator = options.locator.text;
    this.absoluteLocator = `aws:${options.locator.region}:${options.locator.name}`;
    this.bucket = options.locator.bucket;
    this.region = options.locator.region;
    this.name = options.locator.name;
    this.partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE);
    this.pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
    this.tags = options.tags ?? {};
    this.log = (options.log ?? silentLogger()).child({ component: 'jobstore.s3', bucket: this.bucket });
    this.ownKeys = options.ownKeys;
    this.endpoint = options.endpoint;
    this.endpointSetBy = options.endpointSetBy ?? 'AWS_ENDPOINT_URL_S3';
  }

  async create(): Promise<void> {
    // us-east-1 answers CreateBucket on a bucket we already own with 200, so ask first.
    if (await this.exists()) throw new JobStoreExistsError(this.locator);
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // us-east-1 is the one region that refuses a LocationConstraint naming itself.
          ...(this.region === 'us-east-1'
            ? {}
            : {
                CreateBucketConfiguration: {
                  LocationConstraint: this.region as BucketLocationConstraint,
                },
              }),
        }),
      );
    } catch (e) {
      const name = errorName(e);
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') {
        throw new JobStoreExistsError(this.locator);
      }
      throw this.translate(e, 'CreateBucket');
    }
    try {
      await this.secureBucket();
    } catch (e) {
      // A bucket we could not lock down must not be left behind holding workflow data.
      await this.client.send(new DeleteBucketCommand({ Bucket: this.bucket })).catch(() => {});
      throw e;
    }
  }

  private async secureBucket(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      [
        'PutPublicAccessBlock',
        () =>
          this.client.send(
            new PutPublicAccessBlockCommand({
              Bucket: this.bucket,
              PublicAccessBlockConfiguration: {
                BlockPublicAcls: true,
                IgnorePublicAcls: true,
                BlockPublicPolicy: true,
                RestrictPublicBuckets: true,
              },
            }),
          ),
      ],
      [
        'PutBucketEncryption',
        () =>
          this.client.send(
            new PutBucketEncryptionCommand({
              Bucket: this.bucket,
              ServerSideEncryptionConfiguration: {
                Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
              },
            }),
          ),
      ],
    ];
    const tagSet = Object.entries(this.tags).map(([Key, Value]) => ({ Key, Value }));
    if (tagSet.length > 0) {
      steps.push([
        'PutBucketTagging',
        () =>
          this.client.send(new PutBucketTaggingCommand({ Bucket: this.bucket, Tagging: { TagSet: tagSet } })),
      ]);
    }
    for (const [operation, run] of steps) {
      try {
        await run();
      } catch (e) {
        // Only an emulator lacks these calls (s3rver); S3 itself always has them, so any other
        // failure (AccessDenied, ...) stops the job store from being created.
        if (isNotImplemented(e)) {
          this.log.warn({ operation }, 'S3 endpoint does not implement this bucket setting; skipped');
          continue;
        }
        throw this.translate(e, operation);
      }
    }
  }

  /**
   * True for a bucket this job store made: one holding its lease record (the first object every
   * leader writes), an empty one (a create cut short), or, given `ownKeys`, one holding only keys
   * of that layout. A bucket of that name holding other objects is someone else's:
   * JobStoreNotOursError, so no command writes into it or deletes it.
   */
  async exists(): Promise<boolean> {
    let headRegion: string | undefined;
    try {
      headRegion = (await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))).BucketRegion;
    } catch (e) {
      if (httpStatus(e) === 404 || errorName(e) === 'NotFound' || errorName(e) === 'NoSuchBucket') {
        return false;
      }
      throw this.translate(e, 'HeadBucket');
    }
    await this.assertRegion(headRegion);
    if (await this.head(LEADER_KEY)) return true;
    const foreign = await this.firstForeignKey();
    if (foreign !== undefined) throw new JobStoreNotOursError(this.locator, this.bucket, foreign);
    return true;
  }

  /**
   * Throws JobStoreWrongRegionError when the bucket is in another region than the locator's. S3
   * itself redirects a request sent to the wrong region (301, see translate), but a path-style
   * endpoint (AWS_ENDPOINT_URL_S3: moto, a gateway) answers for every region alike, so the
   * bucket's region is asked, as Toil asks it. Once per store object: it does not change.
   */
  private assertRegion(headRegion: string | undefined): Promise<void> {
    this.regionCheck ??= this.bucketRegion(headRegion)
      .then((region) => {
        if (region !== undefined && region !== this.region) {
          throw new JobStoreWrongRegionError(this.locator, this.bucket, region, this.region, this.name);
        }
      })
      .catch((e: unknown) => {
        this.regionCheck = undefined; // a failed look (network) proves nothing
        throw e;
      });
    return this.regionCheck;
  }

  /**
   * The bucket's region: GetBucketLocation's constraint ('EU' is eu-west-1's old name); for the
   * empty one, which S3 gives for us-east-1, the region HeadBucket answered with, which S3 and
   * moto send for every bucket. Undefined from a server that keeps no regions (s3rver answers
   * the empty constraint for every bucket and HeadBucket with no region): nothing to check.
   */
  private async bucketRegion(headRegion: string | undefined): Promise<string | undefined> {
    let constraint: string | undefined;
    try {
      constraint = (await this.client.send(new GetBucketLocationCommand({ Bucket: this.bucket })))
        .LocationConstraint;
    } catch (e) {
      if (isNotImplemented(e)) return headRegion;
      throw this.translate(e, 'GetBucketLocation');
    }
    if (constraint === 'EU') return 'eu-west-1';
    return constraint || headRegion;
  }

  /** exists() throws for a bucket of someone else's. */
  async assertOurs(): Promise<void> {
    await this.exists();
  }

  /** A key of the bucket that is not of `ownKeys`' layout (any key, without it), or undefined. */
  private async firstForeignKey(): Promise<string | undefined> {
    const own = this.ownKeys;
    if (own) {
      // Stops at the first foreign key: a foreign bucket costs one page, however big it is.
      for await (const info of this.listRaw('', undefined)) if (!own(info.key)) return info.key;
      return undefined;
    }
    let page;
    try {
      page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 }));
    } catch (e) {
      throw this.translate(e, 'ListObjectsV2');
    }
    return page.Contents?.[0]?.Key;
  }

  async destroy(): Promise<void> {
    try {
      await this.abortMultipartUploads();
      let batch: string[] = [];
      for await (const info of this.listRaw('', undefined)) {
        // The lease record goes last: a destroy cut short leaves a bucket exists() still owns.
        if (info.key === LEADER_KEY) continue;
        batch.push(info.key);
        if (batch.length === DELETE_BATCH) {
          await this.deleteBatch(batch);
          batch = [];
        }
      }
      batch.push(LEADER_KEY);
      await this.deleteBatch(batch);
      await this.client.send(new DeleteBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      if (e instanceof JobStoreNotFoundError || errorName(e) === 'NoSuchBucket') return;
      throw this.translate(e, 'DeleteBucket');
    }
  }

  /** A destroy cut short leaves the lease record (deleted last), so the bucket still exists() and the next destroy finishes it. */
  async finishCutShortDestroy(): Promise<boolean> {
    return false;
  }

  async isCutShortDestroy(): Promise<boolean> {
    return false;
  }

  /** An empty bucket already exists() as a store, and destroy() deletes it. */
  async removeEmpty(): Promise<boolean> {
    return false;
  }

  async removeAbandonedTemporaries(): Promise<{ count: number; bytes: number }> {
    return { count: 0, bytes: 0 };
  }

  private async abortMultipartUploads(): Promise<void> {
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, KeyMarker, UploadIdMarker }),
        );
      } catch (e) {
        if (isNotImplemented(e)) return; // s3rver: nothing to abort, and no way to ask
        throw this.translate(e, 'ListMultipartUploads');
      }
      for (const upload of page.Uploads ?? []) {
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: upload.Key,
              UploadId: upload.UploadId,
            }),
          )
          .catch((e: unknown) => {
            if (errorName(e) !== 'NoSuchUpload') throw this.translate(e, 'AbortMultipartUpload');
          });
      }
      if (!page.IsTruncated) return;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    assertValidKey(key);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }),
      );
      const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
      const ref = { locator: this.locator, key };
      const expected = expectedIntegrity(ref, out.Metadata, out.ChecksumSHA256);
      if ('composite' in expected) checkComposite(ref, [body], expected);
      else checkBytes(ref, body, expected);
      return { key, body, size: body.length, etag: bareEtag(out.ETag) };
    } catch (e) {
      if (errorName(e) === 'NoSuchKey') return undefined;
      throw this.translate(e, 'GetObject', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, etag: bareEtag(out.ETag) };
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw this.translate(e, 'HeadObject', key);
    }
  }

  async put(key: string, body: Uint8Array | string, conditions: PutConditions = {}): Promise<ObjectInfo> {
    assertValidKey(key);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const integrity = integrityOf(bytes);
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: hexToBase64(integrity.sha256),
          Metadata: metadataOf(integrity),
          IfNoneMatch: conditions.ifNoneMatch,
          IfMatch: conditions.ifMatch === undefined ? undefined : `"${conditions.ifMatch}"`,
        }),
      );
      return { key, size: bytes.byteLength, etag: bareEtag(out.ETag) };
    } catch (e) {
      // S3 answers If-Match on a key that does not exist with 404 NoSuchKey: the condition failed.
      if (conditions.ifMatch !== undefined && errorName(e) === 'NoSuchKey') {
        throw new PreconditionFailedError(key);
      }
      throw this.translate(e, 'PutObject', key);
    }
  }

  /**
   * A body that ends within one part is one `put`. A larger one is a multipart upload with S3's
   * SHA-256 on every part; once complete, the object is copied onto itself (server-side, one
   * request) to attach its whole length and SHA-256 as metadata, which is only known at the end.
   * Above CopyObject's 5 GiB limit the object keeps S3's composite checksum (SHA-256 of the parts'
   * SHA-256s) and its part size, and reads check that instead. A failure aborts the upload, so
   * the object appears whole or not at all.
   */
  async putStream(key: string, body: Readable): Promise<ObjectInfo> {
    assertValidKey(key);
    const parts = partsOf(body, this.partSize);
    const first = await parts.next();
    const second = first.done ? first : await parts.next();
    if (second.done) return this.put(key, first.done ? Buffer.alloc(0) : first.value);
    const whole = new RunningDigest();
    let uploadId: string | undefined;
    let completed = false;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ChecksumAlgorithm: 'SHA256',
          Metadata: { [META_PART_SIZE]: String(this.partSize) },
        }),
      );
      uploadId = created.UploadId;
      const done: CompletedPart[] = [];
      const upload = async (part: Buffer): Promise<void> => {
        whole.update(part);
        const PartNumber = done.length + 1;
        const ChecksumSHA256 = createHash('sha256').update(part).digest('base64');
        const out = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber,
            Body: part,
            ContentLength: part.byteLength,
            ChecksumAlgorithm: 'SHA256',
            ChecksumSHA256,
          }),
        );
        done.push({ PartNumber, ETag: out.ETag, ChecksumSHA256 });
      };
      await upload(first.value!);
      await upload(second.value);
      for (let next = await parts.next(); !next.done; next = await parts.next()) await upload(next.value);
      const out = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: done },
        }),
      );
      completed = true;
      const integrity = whole.digest();
      if (integrity.length > MAX_COPY_SIZE) return { key, size: integrity.length, etag: bareEtag(out.ETag) };
      const copied = await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: key,
          CopySource: `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
          CopySourceIfMatch: out.ETag,
          MetadataDirective: 'REPLACE',
          Metadata: metadataOf(integrity),
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      return { key, size: integrity.length, etag: bareEtag(copied.CopyObjectResult?.ETag) };
    } catch (e) {
      if (completed) {
        // An object without its checksum would read as damaged: take it away again.
        await this.delete(key).catch(() => {});
      } else if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
          .catch(() => {}); // s3rver cannot abort; its parts are never an object either way
      }
      throw this.translate(e, 'PutObject', key);
    }
  }

  async getStream(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }),
      );
      const ref = { locator: this.locator, key };
      let expected;
      try {
        expected = expectedIntegrity(ref, out.Metadata, out.ChecksumSHA256);
      } catch (e) {
        (out.Body as Readable | undefined)?.destroy?.();
        throw e;
      }
      const body =
        out.Body instanceof Readable
          ? out.Body
          : Readable.from([Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array())]);
      return 'composite' in expected
        ? compositeVerifyingStream(ref, body, expected)
        : verifyingStream(ref, body, expected, (e) => this.translate(e, 'GetObject', key));
    } catch (e) {
      if (errorName(e) === 'NoSuchKey') throw new ObjectNotFoundError(key);
      throw this.translate(e, 'GetObject', key);
    }
  }

  whereIs(key: string): string {
    assertValidKey(key);
    return `s3://${this.bucket}/${key}`;
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      throw this.translate(e, 'DeleteObject', key);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    keys.forEach(assertValidKey);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      await this.deleteBatch(keys.slice(i, i + DELETE_BATCH));
    }
  }

  private async deleteBatch(keys: readonly string[]): Promise<void> {
    let out;
    try {
      out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    } catch (e) {
      throw this.translate(e, 'DeleteObjects');
    }
    const failed = (out.Errors ?? []).filter((err) => err.Code !== 'NoSuchKey');
    if (failed.length > 0) {
      const first = failed[0];
      throw new JobStoreUnavailableError(
        `S3 could not delete ${failed.length} of ${keys.length} objects in ${this.bucket} (first: ${first?.Key}: ${first?.Code} ${first?.Message})`,
      );
    }
  }

  list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    return this.listRaw(prefix, options.startAfter);
  }

  private async *listRaw(prefix: string, startAfter: string | undefined): AsyncIterable<ObjectInfo> {
    let ContinuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix === '' ? undefined : prefix,
            StartAfter: ContinuationToken === undefined ? startAfter : undefined,
            ContinuationToken,
            MaxKeys: this.pageSize,
          }),
        );
      } catch (e) {
        throw this.translate(e, 'ListObjectsV2');
      }
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined) continue;
        yield { key: obj.Key, size: obj.Size ?? 0, etag: bareEtag(obj.ETag) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
  }

  enforcesConditions(): Promise<boolean> {
    this.conditionsProbe ??= this.probeConditions().catch((e: unknown) => {
      this.conditionsProbe = undefined; // a failed probe (store gone, network) proves nothing
      throw e;
    });
    return this.conditionsProbe;
  }

  /**
   * Writes a probe object, then two conditional writes that a conforming server must refuse.
   * Four requests, once per store object; the key is unique so concurrent probes do not meet.
   */
  private async probeConditions(): Promise<boolean> {
    const key = `${PROBE_PREFIX}${randomUUID()}`;
    const first = await this.put(key, 'probe');
    const refused = async (conditions: PutConditions): Promise<boolean> => {
      try {
        await this.put(key, 'probe-overwrite', conditions);
        return false;
      } catch (e) {
        if (e instanceof PreconditionFailedError) return true;
        throw e;
      }
    };
    try {
      const ifNoneMatch = await refused({ ifNoneMatch: '*' });
      const ifMatch = await refused({ ifMatch: first.etag === 'stale' ? 'stale2' : 'stale' });
      if (ifNoneMatch !== ifMatch) {
        this.log.warn({ ifNoneMatch, ifMatch }, 'S3 endpoint honours only one kind of conditional write');
      }
      return ifNoneMatch && ifMatch;
    } finally {
      await this.delete(key);
    }
  }

  /** The one place S3's errors become the job store's. */
  private translate(e: unknown, operation: string, key?: string): Error {
    if (e instanceof CorruptJobStoreError) return e;
    const name = errorName(e);
    if (key !== undefined && e instanceof Error && /checksum mismatch/i.test(e.message)) {
      // The SDK's own check of S3's stored checksum (ChecksumMode: ENABLED) failed.
      return damaged(
        { locator: this.locator, key },
        `does not match the checksum S3 stored for it (${e.message})`,
      );
    }
    const status = httpStatus(e);
    if (name === 'NoSuchBucket') return new JobStoreNotFoundError(this.locator);
    if (
      key !== undefined &&
      (status === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict')
    ) {
      // 409 ConditionalRequestConflict: another conditional write to the key was in flight and won.
      return new PreconditionFailedError(key);
    }
    if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'Forbidden') {
      return new JobStoreAccessError(
        this.locator,
        `S3 denied ${operation} on bucket ${this.bucket} (${name || status}): expected credentials allowed to use it; the bucket name may belong to another AWS account`,
      );
    }
    if (name === 'CredentialsProviderError') {
      return new JobStoreAccessError(
        this.locator,
        'no AWS credentials found (expected AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or an instance role)',
      );
    }
    if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
      const bucketRegion = redirectRegion(e);
      if (bucketRegion !== undefined && bucketRegion !== this.region) {
        return new JobStoreWrongRegionError(this.locator, this.bucket, bucketRegion, this.region, this.name);
      }
      return new JobStoreAccessError(
        this.locator,
        `bucket ${this.bucket} is not in ${this.region} (expected the region the bucket was created in)`,
      );
    }
    const unanswered =
      this.endpoint === undefined ? undefined : endpointFailure('S3', this.endpoint, e, this.endpointSetBy);
    if (unanswered !== undefined)
      return new JobStoreUnavailableError(`S3 ${operation} on ${this.bucket}: ${unanswered}`, e);
    if (isTransient(e)) {
      return new JobStoreUnavailableError(
        `S3 ${operation} on ${this.bucket}${key === undefined ? '' : `/${key}`} failed after retries: ${name} ${errorMessage(e)}`,
        e,
      );
    }
    return e instanceof Error ? e : new Error(String(e));
  }
}

function metadataOf(integrity: Integrity): Record<string, string> {
  return { [META_SHA256]: integrity.sha256, [META_LENGTH]: String(integrity.length) };
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** S3's composite checksum of a multipart object: SHA-256 of the parts' SHA-256s, then `-N`. */
interface Composite {
  readonly composite: string;
  readonly partSize: number;
}

/**
 * What an object's bytes must be, from its metadata: length and SHA-256, or, for a multipart
 * object too big to have been copied, S3's composite checksum and the part size it was cut at.
 */
function expectedIntegrity(
  ref: ObjectRef,
  metadata: Record<string, string> | undefined,
  checksum: string | undefined,
): Integrity | Composite {
  const sha256 = metadata?.[META_SHA256];
  const length = Number(metadata?.[META_LENGTH]);
  if (sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256) && Number.isSafeInteger(length) && length >= 0) {
    return { sha256, length };
  }
  const partSize = Number(metadata?.[META_PART_SIZE]);
  if (checksum !== undefined && /-\d+$/.test(checksum) && Number.isSafeInteger(partSize) && partSize > 0) {
    return { composite: checksum, partSize };
  }
  throw damaged(
    ref,
    `${integrityMetadataProblem(metadata)} (it was overwritten by something other than this job store)`,
  );
}

/** What is wrong with an object's integrity metadata, as its damage is reported. */
function integrityMetadataProblem(metadata: Record<string, string> | undefined): string {
  const sha256 = metadata?.[META_SHA256];
  const length = metadata?.[META_LENGTH];
  if (sha256 === undefined && length === undefined) return 'carries no length and SHA-256 metadata';
  const wrong = [
    ...(sha256 === undefined
      ? [`no ${META_SHA256}`]
      : /^[0-9a-f]{64}$/.test(sha256)
        ? []
        : [`${META_SHA256} ${JSON.stringify(sha256.slice(0, 80))} is not 64 hex digits`]),
    ...(length === undefined
      ? [`no ${META_LENGTH}`]
      : /^\d+$/.test(length) && Number.isSafeInteger(Number(length))
        ? []
        : [`${META_LENGTH} ${JSON.stringify(length.slice(0, 80))} is not a whole number of bytes`]),
  ];
  return `carries malformed length and SHA-256 metadata: ${wrong.join(', ')}`;
}

/** The composite checksum of `chunks` cut into parts of `partSize`; throws if it is not `expected`. */
function checkComposite(ref: ObjectRef, chunks: Iterable<Buffer>, expected: Composite): void {
  const hasher = new CompositeHasher(expected.partSize);
  for (const chunk of chunks) hasher.update(chunk);
  const actual = hasher.digest();
  if (actual !== expected.composite) throw checksumMismatch(ref, actual, expected.composite);
}

class CompositeHasher {
  private readonly partDigests: Buffer[] = [];
  private hash = createHash('sha256');
  private inPart = 0;
  private readonly partSize: number;

  constructor(partSize: number) {
    this.partSize = partSize;
  }

  update(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(this.partSize - this.inPart, chunk.length - at);
      this.hash.update(chunk.subarray(at, at + take));
      this.inPart += take;
      at += take;
      if (this.inPart === this.partSize) {
        this.partDigests.push(this.hash.digest());
        this.hash = createHash('sha256');
        this.inPart = 0;
      }
    }
  }

  digest(): string {
    if (this.inPart > 0) this.partDigests.push(this.hash.digest());
    const all = createHash('sha256').update(Buffer.concat(this.partDigests)).digest('base64');
    return `${all}-${this.partDigests.length}`;
  }
}

function compositeVerifyingStream(ref: ObjectRef, source: Readable, expected: Composite): Readable {
  const hasher = new CompositeHasher(expected.partSize);
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hasher.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      const actual = hasher.digest();
      done(actual === expected.composite ? undefined : checksumMismatch(ref, actual, expected.composite));
    },
  });
  source.once('error', (e) => check.destroy(e));
  return source.pipe(check);
}

/** `body` cut into Buffers of exactly `partSize` bytes (the last may be shorter, never empty). */
async function* partsOf(body: Readable, partSize: number): AsyncGenerator<Buffer, void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const raw of body) {
    let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as string);
    while (pendingBytes + chunk.length >= partSize) {
      const take = partSize - pendingBytes;
      pending.push(chunk.subarray(0, take));
      yield Buffer.concat(pending);
      chunk = chunk.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^(W\/)?"|"$/g, '');
}

function errorName(e: unknown): string {
  if (typeof e !== 'object' || e === null) return '';
  const rec = e as { name?: unknown; Code?: unknown };
  return typeof rec.Code === 'string' ? rec.Code : typeof rec.name === 'string' ? rec.name : '';
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The region S3 names in a redirect to the bucket's own region (x-amz-bucket-region). */
function redirectRegion(e: unknown): string | undefined {
  const headers = (e as { $response?: { headers?: Record<string, string | undefined> } } | undefined)
    ?.$response?.headers;
  const region = headers?.['x-amz-bucket-region'];
  return typeof region === 'string' && region !== '' ? region : undefined;
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotImplemented(e: unknown): boolean {
  const status = httpStatus(e);
  const name = errorName(e);
  return status === 501 || status === 405 || name === 'NotImplemented' || name === 'MethodNotAllowed';
}

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

function isTransient(e: unknown): boolean {
  const status = httpStatus(e);
  if (status !== undefined && (status === 429 || status >= 500) && status !== 501) return true;
  if (TRANSIENT_NAMES.has(errorName(e))) return true;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_NAMES.has(code);
}
