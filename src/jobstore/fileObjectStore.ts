import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, link } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JobStoreExistsError, ObjectNotFoundError, PreconditionFailedError } from './errors.js';
import {
  assertValidKey,
  type ObjectInfo,
  type ObjectStore,
  type PutConditions,
  type StoredObject,
} from './objectStore.js';

const MARKER = '.toil-jobstore';
const TMP_DIR = '.tmp';
const LOCK_STALE_MS = 30_000;

/**
 * A job store directory. Every write goes to a temporary file in the same file system and is
 * renamed into place, so a crash leaves the old object or the new one, never half of one.
 * The etag is the SHA-1 of the bytes. Conditional writes hold a per-key lock file (O_EXCL), so
 * they are safe between processes on one machine (and on NFS with close-to-open semantics).
 */
export class FileObjectStore implements ObjectStore {
  readonly root: string;
  readonly locator: string;

  constructor(root: string, locator: string = `file:${root}`) {
    this.root = root;
    this.locator = locator;
  }

  async enforcesConditions(): Promise<boolean> {
    return true;
  }

  async create(): Promise<void> {
    await mkdir(dirname(this.root), { recursive: true });
    try {
      await mkdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await this.exists()) throw new JobStoreExistsError(this.locator);
      // An empty (or foreign) directory: only take it over if it is empty.
      const entries = await readdir(this.root);
      if (entries.length > 0) throw new JobStoreExistsError(this.locator);
    }
    await mkdir(join(this.root, TMP_DIR), { recursive: true });
    await this.put(MARKER, 'toil-ts job store\n');
  }

  async exists(): Promise<boolean> {
    try {
      await stat(join(this.root, MARKER));
      return true;
    } catch {
      return false;
    }
  }

  async destroy(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  async get(key: string): Promise<StoredObject | undefined> {
    assertValidKey(key);
    try {
      const body = await readFile(this.pathOf(key));
      return { key, body, size: body.length, etag: etagOf(body) };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const obj = await this.get(key);
    return obj && { key: obj.key, size: obj.size, etag: obj.etag };
  }

  async put(key: string, body: Uint8Array | string, conditions: PutConditions = {}): Promise<ObjectInfo> {
    assertValidKey(key);
    const bytes =
      typeof body === 'string'
        ? Buffer.from(body)
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const info: ObjectInfo = { key, size: bytes.length, etag: etagOf(bytes) };
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = await this.writeTemp(bytes);
    try {
      if (conditions.ifNoneMatch === '*' && conditions.ifMatch === undefined) {
        // link() fails if the target exists: an atomic create-if-absent without a lock.
        try {
          await link(tmp, target);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new PreconditionFailedError(key);
          throw e;
        }
        return info;
      }
      if (conditions.ifMatch !== undefined || conditions.ifNoneMatch !== undefined) {
        await this.withLock(key, async () => {
          const current = await this.head(key);
          if (conditions.ifNoneMatch === '*' && current) throw new PreconditionFailedError(key);
          if (conditions.ifMatch !== undefined && current?.etag !== conditions.ifMatch) {
            throw new PreconditionFailedError(key);
          }
          await rename(tmp, target);
        });
        return info;
      }
      await rename(tmp, target);
      return info;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  async putStream(key: string, body: Readable): Promise<ObjectInfo> {
    assertValidKey(key);
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = this.tempPath();
    const hash = createHash('sha1');
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    return { key, size, etag: hash.digest('hex') };
  }

  async getStream(key: string): Promise<Readable> {
    assertValidKey(key);
    const path = this.pathOf(key);
    // Open first so a missing object is reported here, not as a stream error later.
    const handle = await open(path, 'r').catch((e: unknown) => {
      if (isMissing(e)) throw new ObjectNotFoundError(key);
      throw e;
    });
    return createReadStream(path, { fd: handle.fd, autoClose: true });
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await unlink(this.pathOf(key)).catch((e: unknown) => {
      if (!isMissing(e)) throw e;
    });
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.delete(key);
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    const keys: string[] = [];
    await this.collectKeys('', keys);
    keys.sort();
    for (const key of keys) {
      if (!key.startsWith(prefix)) continue;
      if (options.startAfter !== undefined && key <= options.startAfter) continue;
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  private async collectKeys(relDir: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(join(this.root, relDir), { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const entry of entries) {
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (relDir === '' && (entry.name === TMP_DIR || entry.name === MARKER)) continue;
      if (entry.name.endsWith('.lock')) continue;
      if (entry.isDirectory()) await this.collectKeys(rel, out);
      else out.push(rel);
    }
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private tempPath(): string {
    return join(this.root, TMP_DIR, randomUUID());
  }

  private async writeTemp(bytes: Buffer): Promise<string> {
    const tmp = this.tempPath();
    await mkdir(join(this.root, TMP_DIR), { recursive: true });
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return tmp;
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lockPath = `${this.pathOf(key)}.lock`;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const age = await stat(lockPath).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        // A holder that died (kill -9) leaves its lock behind; take it over once it is stale.
        if (age > LOCK_STALE_MS) await unlink(lockPath).catch(() => {});
        await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt)));
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(lockPath).catch(() => {});
    }
  }
}

function etagOf(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
