import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { CorruptJobStoreError } from './errors.js';

/**
 * What every object in a job store carries, whatever the backend: its length and the SHA-256 of
 * its bytes, recorded when it is written and checked whenever it is read. How they are stored is
 * the backend's business (a header in the file; user metadata and S3's own checksum on S3).
 */
export interface Integrity {
  readonly length: number;
  /** Lowercase hex. */
  readonly sha256: string;
}

export function integrityOf(bytes: Uint8Array): Integrity {
  return { length: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** An object of one store, for messages: the locator as the user wrote it and the key. */
export interface ObjectRef {
  readonly locator: string;
  readonly key: string;
}

/** Throws CorruptJobStoreError unless `bytes` are exactly what `expected` describes. */
export function checkBytes(ref: ObjectRef, bytes: Uint8Array, expected: Integrity): void {
  if (bytes.byteLength !== expected.length) throw lengthMismatch(ref, bytes.byteLength, expected.length);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected.sha256) throw checksumMismatch(ref, actual, expected.sha256);
}

/** The error for object `ref` being damaged in the way `why` says. */
export function damaged(ref: ObjectRef, why: string): CorruptJobStoreError {
  return new CorruptJobStoreError(ref.locator, why, ref.key);
}

/** Hashes and counts bytes as they stream past (for writes whose length is not known up front). */
export class RunningDigest {
  private readonly hash: Hash = createHash('sha256');
  length = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.length += chunk.byteLength;
  }

  /** The integrity of everything seen; call once, at the end. */
  digest(): Integrity {
    return { length: this.length, sha256: this.hash.digest('hex') };
  }

  /** A pass-through stream that feeds this digest. */
  tap(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.update(chunk);
        done(null, chunk);
      },
    });
  }
}

/**
 * `source` checked as it is read: the returned stream fails with CorruptJobStoreError before it
 * ends if the bytes run past `expected.length`, stop short of it, or hash to another SHA-256, so a
 * consumer (a pipeline into a local file) never sees a clean end of damaged data. Errors of the
 * source pass through.
 */
export function verifyingStream(
  ref: ObjectRef,
  source: Readable,
  expected: Integrity,
  translate: (e: Error) => Error = (e) => e,
): Readable {
  const digest = new RunningDigest();
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      digest.update(chunk);
      if (digest.length > expected.length) {
        done(lengthMismatch(ref, digest.length, expected.length, 'at least '));
        return;
      }
      done(null, chunk);
    },
    flush(done) {
      const actual = digest.digest();
      if (actual.length !== expected.length) done(lengthMismatch(ref, actual.length, expected.length));
      else if (actual.sha256 !== expected.sha256) done(checksumMismatch(ref, actual.sha256, expected.sha256));
      else done();
    },
  });
  source.once('error', (e) => check.destroy(translate(e)));
  return source.pipe(check);
}

function lengthMismatch(
  ref: ObjectRef,
  actual: number,
  expected: number,
  qualifier = '',
): CorruptJobStoreError {
  return damaged(ref, `holds ${qualifier}${actual} bytes, expected ${expected} (truncated or overwritten)`);
}

export function checksumMismatch(ref: ObjectRef, actual: string, expected: string): CorruptJobStoreError {
  return damaged(
    ref,
    `fails its checksum: SHA-256 ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}… (its bytes changed after they were written)`,
  );
}
