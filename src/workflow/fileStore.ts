import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { markOwned, markOwnedSync } from '../common/ownedDirs.js';
import type { AttemptRef, JobStore } from '../jobstore/jobStore.js';
import type { FileID, FileStore } from './api.js';
import { exportLocalFile, importLocalFile } from './fileTransfer.js';
import { JOB_DIR_PREFIX } from './workDirLayout.js';

/**
 * A job's file store: global files live in the job store (one object each), local scratch space
 * in a directory of its own under the work directory, removed when the job ends. Deletions are
 * deferred to the job's commit so a failed attempt deletes nothing. The files it writes are kept
 * under its attempt's prefix (see JobStore.newFileId), so that a leader finds them when the
 * attempt ends without a word (lost with its node) and deletes them.
 */
export class JobFileStore implements FileStore {
  private readonly store: JobStore;
  private readonly workDir: string;
  private readonly writer: AttemptRef | undefined;
  private tempDir: string | undefined;
  private jobDir: string | undefined;
  /** Files this attempt wrote: deleted again if the attempt fails. */
  readonly written: string[] = [];
  /** Files to delete when the job commits. */
  readonly toDelete = new Set<string>();

  constructor(store: JobStore, workDir: string, writer?: AttemptRef) {
    this.store = store;
    this.workDir = workDir;
    this.writer = writer;
  }

  async writeGlobalFile(localPath: string): Promise<FileID> {
    // A workflow file is bundled, not type-checked: given bytes, Node took them for a path, failed
    // the job with basename's "path must be a string" and then a stray read of that "path".
    if (typeof localPath !== 'string')
      throw new TypeError(
        `writeGlobalFile takes a local file's path, given ${givenKind(localPath)}: write bytes with writeGlobalFileBytes, a stream with writeGlobalFileStream`,
      );
    return this.writeFrom(createReadStream(localPath), basename(localPath));
  }

  async writeGlobalFileBytes(data: Uint8Array | string): Promise<FileID> {
    const id = this.newFileId();
    await this.store.writeFile(id, data);
    return id;
  }

  async writeGlobalFileStream(
    source: AsyncIterable<Uint8Array | string> | NodeJS.ReadableStream,
  ): Promise<FileID> {
    const readable =
      source instanceof Readable ? source : Readable.from(source as AsyncIterable<Uint8Array | string>);
    return this.writeFrom(readable);
  }

  async readGlobalFile(fileId: FileID, localPath?: string): Promise<string> {
    const target = localPath ?? (await this.getLocalTempFile());
    await pipeline(await this.store.readFileStream(fileId), createWriteStream(target));
    return target;
  }

  readGlobalFileBytes(fileId: FileID): Promise<Buffer> {
    return this.store.readFileBytes(fileId);
  }

  readGlobalFileStream(fileId: FileID): Promise<NodeJS.ReadableStream> {
    return this.store.readFileStream(fileId);
  }

  importFile(source: string): Promise<FileID> {
    return importLocalFile(this.store, source, (name) => this.newFileId(name));
  }

  exportFile(fileId: FileID, destination: string): Promise<void> {
    return exportLocalFile(this.store, fileId, destination);
  }

  getGlobalFileSize(fileId: FileID): Promise<number> {
    return this.store.fileSize(fileId);
  }

  deleteGlobalFile(fileId: FileID): void {
    this.toDelete.add(fileId);
  }

  async getLocalTempDir(): Promise<string> {
    return mkdtemp(join(await this.ownDir(), 'd-'));
  }

  async getLocalTempFile(): Promise<string> {
    return join(await this.ownDir(), `f-${randomUUID()}`);
  }

  /**
   * Toil's `job.tempDir`: one directory for the job, made the first time it is asked for (a
   * property, so made synchronously) and removed with the rest of its scratch space.
   */
  jobTempDir(): string {
    if (!this.jobDir) {
      if (!this.tempDir) {
        mkdirSync(this.workDir, { recursive: true });
        this.tempDir = mkdtempSync(join(this.workDir, JOB_DIR_PREFIX));
        markOwnedSync(this.tempDir);
      }
      this.jobDir = mkdtempSync(join(this.tempDir, 'd-'));
    }
    return this.jobDir;
  }

  /** Removes the job's scratch space. */
  async cleanup(): Promise<void> {
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
    this.jobDir = undefined;
  }

  private async writeFrom(readable: Readable, name?: string): Promise<FileID> {
    const id = this.newFileId(name);
    await this.store.writeFile(id, readable);
    return id;
  }

  /** A new file's ID, noted as written before the file is (a failed attempt deletes it). */
  private newFileId(name?: string): FileID {
    const id = this.store.newFileId(name, this.writer);
    this.written.push(id);
    return id;
  }

  private async ownDir(): Promise<string> {
    if (!this.tempDir) {
      await mkdir(this.workDir, { recursive: true });
      this.tempDir = await mkdtemp(join(this.workDir, JOB_DIR_PREFIX));
      await markOwned(this.tempDir);
    }
    return this.tempDir;
  }
}

/** What a caller gave where a path was expected, as a user would name it. */
function givenKind(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (undefined)';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (value instanceof Readable) return 'a stream';
  return typeof value === 'object'
    ? `an object (${value.constructor?.name ?? 'Object'})`
    : `a ${typeof value}`;
}
