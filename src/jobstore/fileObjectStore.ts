import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import {
  link,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { processAlive, provablyGone, thisProcess, type ProcessIdentity } from '../common/processIdentity.js';
import { abandonedTemporary, temporaryName } from './temporaryFiles.js';
import {
  JobStoreBeingDeletedError,
  JobStoreExistsError,
  JobStoreNotFoundError,
  JobStorePathTakenError,
  JobStoreUnavailableError,
  JobStoreUnwritableError,
  ObjectNotFoundError,
  PreconditionFailedError,
} from './errors.js';
import {
  checkBytes,
  damaged,
  integrityOf,
  RunningDigest,
  verifyingStream,
  type Integrity,
} from './integrity.js';
import {
  assertValidKey,
  type ObjectInfo,
  type ObjectStore,
  type PutConditions,
  type StoredObject,
} from './objectStore.js';

/** Written last by create(): its presence is what makes a directory a job store. */
const MARKER = '.toil-jobstore';
const MARKER_TEXT =
  'toil-ts job store\nformat 2: every object file begins with a header holding its length and SHA-256\n';
/** The marker of stores written before objects carried a header; their objects are read unchecked. */
const LEGACY_MARKER_TEXT = 'toil-ts job store\n';
/**
 * What the marker becomes as destroy() begins: the directory is no job store any more, but what a
 * destroy cut short leaves is known for ours, so the next destroy (or create) finishes it.
 */
const DESTROYING_MARKER = '.toil-jobstore-destroying';
/**
 * Who is deleting the store (JSON: the process and when it began), written before the marker is
 * renamed and touched every DELETER_BEAT_MS while it deletes: so a deletion underway is told from
 * one cut short, and no other command finishes it, or makes a new store there, from under it.
 */
const DELETER = '.toil-jobstore-deleter';
const DELETER_BEAT_MS = 5_000;
/** A deleter not heard from (its record untouched) for this long is taken for gone, as a lock is. */
const DELETER_STALE_MS = 30_000;
/**
 * Every object file begins with this fixed-width header:
 * `toil-ts object 1 <length, 16 decimal digits> <sha256, 64 hex digits>\n` (99 bytes). Fixed
 * width, so a streamed body can be written first and its header filled in at the end.
 */
const HEADER_MAGIC = 'toil-ts object 1 ';
const HEADER_LEN = HEADER_MAGIC.length + 16 + 1 + 64 + 1;
const HEADER_RE = /^toil-ts object 1 (\d{16}) ([0-9a-f]{64})\n$/;
const TMP_DIR = '.tmp';
const LOCK_DIR = '.locks';
const OBJECTS_DIR = 'objects';
const LOCK_STALE_MS = 30_000;
/** How many times a write makes its object's folder again when a delete removes it (intoObjectDir). */
const PLACE_TRIES = 10;
/**
 * What a file system's refusal of a write means, by errno: the disk's state, the user's to fix
 * (see JobStoreUnwritableError), where any other error is a bug or the store being gone.
 */
const WRITE_REFUSED: Readonly<Record<string, string>> = {
  ENOSPC: 'its file system is full',
  EDQUOT: 'its disk quota is used up',
  EROFS: 'its file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};
/**
 * What a file system's refusal of a read means, by errno: the store cannot be used until the
 * user fixes its disk or path (JobStoreUnavailableError, as an S3 endpoint that does not answer),
 * where the store's own contents being wrong is CorruptJobStoreError and a missing file is absence.
 */
const READ_REFUSED: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EIO: 'its disk reported an I/O error',
  ELOOP: 'a loop of symbolic links in its path',
};

/**
 * A job store directory:
 *
 *     ROOT/.toil-jobstore   marker, written last by create()
 *     ROOT/.tmp/            bodies being written, each named after its writer (temporaryFiles.ts)
 *     ROOT/.locks/          one lock file per key during an ifMatch write
 *     ROOT/objects/KEY      the objects, one file each: a 99-byte header (length, SHA-256), then the bytes
 *
 * Every write goes to a temporary file on the same file system, is fsynced, and is renamed into
 * place, so a reader or a crash sees the old object or the new one, never half of one. Every read
 * checks the bytes against the header (see integrity.ts), so a file truncated or changed behind
 * the store's back is reported as `CorruptObjectError`, never returned.
 * `ifNoneMatch: '*'` is link(), which fails if the name exists: atomic without a lock.
 * `ifMatch` holds a per-key lock file (O_EXCL) across compare and rename, so it is safe between
 * processes on one machine (and on NFS with close-to-open semantics). The etag is the SHA-256 from
 * the header, so it changes exactly when the bytes do, and reading it costs 99 bytes.
 *
 * S3 lets 'a' and 'a/b' both be keys; a directory cannot be both a file and a directory. So each
 * directory segment of a key is stored with a trailing '%' (and '%' inside a segment as '%25'):
 * key 'jobs/abc' is the file objects/jobs%/abc, and key 'jobs' can still be the file objects/jobs.
 */
export class FileObjectStore implements ObjectStore {
  readonly root: string;
  readonly locator: string;
  readonly absoluteLocator: string;
  private legacy: Promise<boolean> | undefined;
  private readonly onForeign: ((message: string) => void) | undefined;

  constructor(
    root: string,
    locator: string = `file:${root}`,
    options: {
      /**
       * Told, once per entry and process, of what a listing leaves out of the objects folder
       * because this store never names anything so (see foreignEntriesMessage).
       */
      onForeign?: (message: string) => void;
    } = {},
  ) {
    this.root = root;
    this.locator = locator;
    this.absoluteLocator = `file:${resolve(root)}`;
    this.onForeign = options.onForeign;
  }

  async enforcesConditions(): Promise<boolean> {
    return true;
  }

  async create(): Promise<void> {
    try {
      await mkdir(dirname(this.root), { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!['EEXIST', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS'].includes(code)) throw e;
      // EEXIST: a file stands where a directory of the path should be.
      throw new JobStorePathTakenError(
        this.locator,
        dirname(this.root),
        `cannot be made as a directory (${code})`,
      );
    }
    try {
      await mkdir(this.root);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        if (code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
          throw new JobStorePathTakenError(this.locator, this.root, `cannot be made (${code})`);
        throw e;
      }
      await this.assertOurs();
      if (await this.exists()) throw new JobStoreExistsError(this.locator);
      // An existing empty directory may become the store, and so may what a create or a destroy
      // cut short (a leader or `toil clean` killed in it) left.
      if (await this.finishCutShortDestroy()) await mkdir(this.root, { recursive: true });
    }
    try {
      await mkdir(join(this.root, TMP_DIR), { recursive: true });
      await mkdir(join(this.root, LOCK_DIR), { recursive: true });
      await mkdir(join(this.root, OBJECTS_DIR), { recursive: true });
    } catch (e) {
      throw this.refused(e, 'making its folders');
    }
    // Two creates racing: link() lets exactly one of them write the marker.
    const tmp = await this.writeTemp(Buffer.from(MARKER_TEXT), 'writing its marker');
    try {
      await link(tmp, join(this.root, MARKER));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new JobStoreExistsError(this.locator);
      throw e;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  async exists(): Promise<boolean> {
    try {
      await stat(join(this.root, MARKER));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw this.unreadable(e, 'looking for its marker');
    }
  }

  async assertOurs(): Promise<void> {
    const s = await stat(this.root).catch((e: unknown) => {
      if (isMissing(e)) return undefined;
      throw this.unreadable(e, 'looking at its path');
    });
    if (!s) return;
    if (!s.isDirectory())
      throw new JobStorePathTakenError(this.locator, this.root, 'is a file, not a job store');
    await this.refuseWhileDeleted();
    if ((await this.exists()) || (await this.isCutShortDestroy()) || (await this.isEmptyOrCutShort())) return;
    const first = (await readdir(this.root)).sort()[0] ?? '';
    throw new JobStorePathTakenError(
      this.locator,
      this.root,
      `is a directory of other files (e.g. '${first}'), not a job store`,
    );
  }

  async destroy(): Promise<void> {
    if (await this.exists()) {
      // Who deletes is written first, so no moment shows a deletion without its deleter, which
      // another command would take for one cut short and finish from under this one.
      await this.claimDeletion();
      // The marker is renamed next, so a destroy cut short leaves no half store that claims to
      // exist, yet leaves remains the next destroy recognises as ours and finishes.
      await rename(join(this.root, MARKER), join(this.root, DESTROYING_MARKER)).catch((e: unknown) => {
        if (!isMissing(e)) throw e;
      });
      await this.deleteRemains();
      return;
    }
    if (await this.finishCutShortDestroy()) return;
    // Not a job store: never delete a directory we did not make (a mistyped `toil clean ~`).
    // An empty directory, or the bare skeleton a create() cut short leaves, is safe to remove.
    if (await this.isEmptyOrCutShort().catch(() => false))
      await rm(this.root, { recursive: true, force: true }).catch(() => {});
  }

  async removeEmpty(): Promise<boolean> {
    if (await this.exists()) return false;
    const empty = await this.isEmptyOrCutShort().catch((e: unknown) => {
      if (isMissing(e)) return false;
      throw this.unreadable(e, 'listing its path');
    });
    if (empty) await rm(this.root, { recursive: true, force: true });
    return empty;
  }

  /** Remains of a deletion whose deleter is gone; a deletion still underway is not cut short. */
  async isCutShortDestroy(): Promise<boolean> {
    try {
      await stat(join(this.root, DESTROYING_MARKER));
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
    return (await this.deleterAtWork()) === undefined;
  }

  /** Throws JobStoreBeingDeletedError while another process deletes the store (see DELETER). */
  async finishCutShortDestroy(): Promise<boolean> {
    await this.refuseWhileDeleted();
    if (!(await this.isCutShortDestroy())) return false;
    await this.claimDeletion();
    await this.deleteRemains();
    return true;
  }

  /** Throws JobStoreBeingDeletedError while a live process other than this one deletes the store. */
  private async refuseWhileDeleted(): Promise<void> {
    const deleter = await this.deleterAtWork();
    if (deleter)
      throw new JobStoreBeingDeletedError(
        this.locator,
        `process ${deleter.holder.pid} on ${deleter.holder.host}`,
        new Date(deleter.since).toISOString(),
      );
  }

  /**
   * The process deleting the store now: one named by the deleter record beside the renamed
   * marker, heard from within DELETER_STALE_MS and not provably gone; undefined if none (no
   * deletion, or one cut short: its deleter killed, or silent for that long on another machine).
   */
  private async deleterAtWork(): Promise<{ holder: ProcessIdentity; since: number } | undefined> {
    const path = join(this.root, DELETER);
    let text: string;
    let heardAt: number;
    try {
      [text, heardAt] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.unreadable(e, 'reading who deletes it');
    }
    const record = parseDeleter(text);
    if (!record || Date.now() - heardAt > DELETER_STALE_MS) return undefined;
    const me = thisProcess();
    if (record.holder.pid === me.pid && record.holder.host === me.host) return undefined;
    return provablyGone(record.holder, me, processAlive) ? undefined : record;
  }

  /** Names this process as the store's deleter (see DELETER); written whole, by a rename. */
  private async claimDeletion(): Promise<void> {
    const tmp = join(this.root, `${DELETER}.${randomUUID()}`);
    const record = { format: 1, holder: thisProcess(), since: Date.now() };
    try {
      await writeFile(tmp, JSON.stringify(record));
      await rename(tmp, join(this.root, DELETER));
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw this.refused(e, 'naming its deleter');
    }
  }

  /**
   * Deletes all but the renamed marker and the deleter record, then the directory: until it goes,
   * it says whose it is and who deletes it. The record is touched as it goes, so a long deletion
   * is not taken for one cut short.
   */
  private async deleteRemains(): Promise<void> {
    const record = join(this.root, DELETER);
    const beat = setInterval(() => {
      const now = new Date();
      utimes(record, now, now).catch(() => {});
    }, DELETER_BEAT_MS);
    beat.unref();
    try {
      // A concurrent destroy may have removed the directory by now.
      const entries = await readdir(this.root).catch((e: unknown) => {
        if (isMissing(e)) return [];
        throw e;
      });
      for (const entry of entries)
        if (entry !== DESTROYING_MARKER && entry !== DELETER)
          await rm(join(this.root, entry), { recursive: true, force: true });
      await rm(this.root, { recursive: true, force: true });
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * True for an empty directory, or one holding only what create() makes before its marker (the
   * folders, no lock, no object, at most temporary files): a create cut short there, by a leader
   * killed in it, which the next create may finish. Its marker is the last thing create() writes.
   */
  private async isEmptyOrCutShort(): Promise<boolean> {
    const entries = await readdir(this.root);
    if (entries.some((e) => e !== TMP_DIR && e !== LOCK_DIR && e !== OBJECTS_DIR)) return false;
    for (const dir of [LOCK_DIR, OBJECTS_DIR])
      if (entries.includes(dir) && (await readdir(join(this.root, dir))).length > 0) return false;
    return true;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    assertValidKey(key);
    let file: Buffer;
    try {
      file = await readFile(this.pathOf(key));
    } catch (e) {
      if (isMissing(e)) return this.absent(undefined);
      throw this.unreadable(e, `reading ${key}`);
    }
    const header = parseHeader(file);
    if (!header) {
      await this.assertLegacy(key);
      return { key, body: file, size: file.length, etag: legacyEtag(file) };
    }
    const body = file.subarray(HEADER_LEN);
    checkBytes({ locator: this.locator, key }, body, header);
    return { key, body, size: body.length, etag: header.sha256 };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    return this.headPath(key, this.pathOf(key));
  }

  /** Size and etag from the object's header alone (99 bytes read); the body is checked on read. */
  private async headPath(key: string, path: string): Promise<ObjectInfo | undefined> {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      if (isMissing(e)) return this.absent(undefined);
      throw this.unreadable(e, `reading ${key}`);
    }
    try {
      const buf = Buffer.alloc(HEADER_LEN);
      const { bytesRead } = await handle.read(buf, 0, HEADER_LEN, 0);
      const header = parseHeader(buf.subarray(0, bytesRead));
      if (header) return { key, size: header.length, etag: header.sha256 };
      // A legacy object, or a damaged header: report what is there; a read will tell which.
      const whole = await readFile(path);
      return { key, size: whole.length, etag: legacyEtag(whole) };
    } finally {
      await handle.close();
    }
  }

  async put(key: string, body: Uint8Array | string, conditions: PutConditions = {}): Promise<ObjectInfo> {
    assertValidKey(key);
    const bytes =
      typeof body === 'string'
        ? Buffer.from(body)
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const integrity = integrityOf(bytes);
    const info: ObjectInfo = { key, size: bytes.length, etag: integrity.sha256 };
    const tmp = await this.writeTemp(Buffer.concat([headerOf(integrity), bytes]), `writing ${key}`);
    try {
      const target = this.pathOf(key);
      await this.intoObjectDir(target, async () => {
        if (conditions.ifMatch !== undefined) {
          await this.withLock(key, async () => {
            const current = await this.head(key);
            if (current?.etag !== conditions.ifMatch) throw new PreconditionFailedError(key);
            // ifNoneMatch with ifMatch can never hold: the object both exists and does not.
            if (conditions.ifNoneMatch === '*') throw new PreconditionFailedError(key);
            await rename(tmp, target);
          });
        } else if (conditions.ifNoneMatch === '*') {
          try {
            await link(tmp, target);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new PreconditionFailedError(key);
            throw e;
          }
        } else {
          await rename(tmp, target);
        }
      });
      return info;
    } catch (e) {
      throw this.refused(e, `writing ${key}`);
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  async putStream(key: string, body: Readable): Promise<ObjectInfo> {
    assertValidKey(key);
    const target = this.pathOf(key);
    const tmp = this.tempPath();
    const digest = new RunningDigest();
    let integrity: Integrity;
    try {
      // The body goes after room for the header, which is filled in once the body is known.
      await pipeline(body, digest.tap(), createWriteStream(tmp, { flags: 'wx', start: HEADER_LEN }));
      integrity = digest.digest();
      const handle = await open(tmp, 'r+');
      try {
        await handle.write(headerOf(integrity), 0, HEADER_LEN, 0);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.intoObjectDir(target, () => rename(tmp, target));
    } catch (e) {
      await unlink(tmp).catch(() => {});
      if (isMissing(e) && !(await this.exists())) throw new JobStoreNotFoundError(this.locator);
      throw this.refused(e, `writing ${key}`);
    }
    return { key, size: integrity.length, etag: integrity.sha256 };
  }

  async getStream(key: string): Promise<Readable> {
    assertValidKey(key);
    const path = this.pathOf(key);
    // Open first so a missing object is reported here, not as a stream error later.
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      if (isMissing(e)) await this.absent(undefined);
      throw isMissing(e) ? new ObjectNotFoundError(key) : this.unreadable(e, `reading ${key}`);
    }
    const buf = Buffer.alloc(HEADER_LEN);
    let header;
    try {
      const { bytesRead } = await handle.read(buf, 0, HEADER_LEN, 0);
      header = parseHeader(buf.subarray(0, bytesRead));
      if (!header) await this.assertLegacy(key);
    } catch (e) {
      await handle.close();
      throw e;
    }
    // The stream owns the handle: taking only its fd would let GC close the fd under the stream.
    if (!header) return handle.createReadStream({ autoClose: true, start: 0 });
    return verifyingStream(
      { locator: this.locator, key },
      handle.createReadStream({ autoClose: true, start: HEADER_LEN }),
      header,
    );
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (e) {
      if (isMissing(e)) return this.absent(undefined);
      throw this.refused(e, `deleting ${key}`);
    }
    await this.removeEmptyFolders(dirname(path));
  }

  /**
   * Removes `dir` and each folder above it that the delete left empty, up to the objects folder
   * (kept: writes never make it again, see makeObjectDir): a job's files sit under folders of
   * its own (`files%/<jobId>%/<attempt>%/`, a named one in a `<uuid>%/` of its own), and a run
   * left every one of them behind, empty. A folder a concurrent write has put its object in is not
   * empty, so rmdir refuses it (ENOTEMPTY), as it refuses a folder linked in from elsewhere
   * (ENOTDIR): either ends the climb, the race's normal end. A write whose folder went between
   * its mkdir and its rename makes it again (see intoObjectDir). The object is deleted whatever
   * happens here: a folder left is only a folder.
   */
  private async removeEmptyFolders(dir: string): Promise<void> {
    const objects = join(this.root, OBJECTS_DIR);
    for (let d = dir; d.startsWith(objects + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    keys.forEach(assertValidKey);
    for (const key of keys) await this.delete(key);
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    if (!(await this.exists())) throw new JobStoreNotFoundError(this.locator);
    // Walk only the directory the prefix's complete segments name, not the whole store.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const keys: string[] = [];
    const foreign: string[] = [];
    await this.collectKeys(dirKey, keys, foreign);
    this.tellForeign(foreign);
    const startAfter = options.startAfter === undefined ? undefined : Buffer.from(options.startAfter);
    // S3 orders keys by their UTF-8 bytes; JS string order (UTF-16) differs above U+FFFF.
    const wanted = keys
      .filter((key) => key.startsWith(prefix))
      .map((key) => ({ key, bytes: Buffer.from(key) }))
      .filter((k) => startAfter === undefined || Buffer.compare(k.bytes, startAfter) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    for (const { key } of wanted) {
      // Undefined: deleted while we listed, which S3 would not have shown either. An object the
      // disk will not let us read is no such absence: it is named (JobStoreUnavailableError), not
      // left out, as a listing without it would say the job it records never ran.
      const info = await this.headPath(key, this.pathOf(key));
      if (info) yield info;
    }
  }

  /**
   * The keys under `dirKey`, and in `foreign` the entries this store never writes (a folder
   * without the trailing '%' of its folders, a file with it, a link to nothing), which are left
   * out. A symbolic link counts as what it points to, as a read through it does: a folder of
   * commits moved to another disk and linked back is listed, not left out unseen.
   */
  private async collectKeys(dirKey: string, out: string[], foreign: string[]): Promise<void> {
    const dir = this.dirPathOf(dirKey);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw this.unreadable(e, `listing ${dirKey === '' ? 'its objects' : `${dirKey}/`}`);
    }
    for (const entry of entries) {
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await stat(join(dir, entry.name));
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch (e) {
          // A link to nothing is foreign; one the disk will not let us follow is named (by the
          // read of the object it would be, or here for a folder), not left out.
          if (isMissing(e)) isDir = isFile = false;
          else if (entry.name.endsWith('%'))
            throw this.unreadable(
              e,
              `listing ${dirKey === '' ? '' : `${dirKey}/`}${decodeSegment(entry.name.slice(0, -1))}/`,
            );
          else [isDir, isFile] = [false, true];
        }
      }
      if ((!isDir && !isFile) || isDir !== entry.name.endsWith('%')) {
        foreign.push(join(dir, entry.name));
        continue;
      }
      const segment = decodeSegment(isDir ? entry.name.slice(0, -1) : entry.name);
      const key = dirKey === '' ? segment : `${dirKey}/${segment}`;
      if (isDir) await this.collectKeys(key, out, foreign);
      else out.push(key);
    }
  }

  /** Says which entries a listing left out, each once in this process. */
  private tellForeign(paths: readonly string[]): void {
    if (!this.onForeign) return;
    const fresh = paths.filter((p) => !FOREIGN_TOLD.has(resolve(p)));
    if (fresh.length === 0) return;
    for (const p of fresh) FOREIGN_TOLD.add(resolve(p));
    this.onForeign(foreignEntriesMessage(this.locator, this.root, fresh));
  }

  /**
   * An object file without a header is damaged (truncated into its header, or overwritten), unless
   * the store predates headers, whose objects are read as they are. The marker says which.
   */
  private async assertLegacy(key: string): Promise<void> {
    this.legacy ??= readFile(join(this.root, MARKER), 'utf8').then(
      (text) => text === LEGACY_MARKER_TEXT,
      () => false,
    );
    if (!(await this.legacy)) {
      throw damaged(
        { locator: this.locator, key },
        'lacks the header with its length and checksum (its file was truncated or overwritten)',
      );
    }
  }

  /** A miss: `value` if the store is there, JobStoreNotFoundError if the store itself is gone. */
  private async absent<T>(value: T): Promise<T> {
    if (!(await this.exists())) throw new JobStoreNotFoundError(this.locator);
    return value;
  }

  whereIs(key: string): string {
    assertValidKey(key);
    return this.pathOf(key);
  }

  private pathOf(key: string): string {
    const segments = key.split('/');
    const file = encodeSegment(segments.pop() ?? '');
    return join(this.root, OBJECTS_DIR, ...segments.map((s) => `${encodeSegment(s)}%`), file);
  }

  private dirPathOf(dirKey: string): string {
    const segments = dirKey === '' ? [] : dirKey.split('/');
    return join(this.root, OBJECTS_DIR, ...segments.map((s) => `${encodeSegment(s)}%`));
  }

  /**
   * Makes the folders of an object's path below the objects folder, never that folder or the
   * store's own: a write racing the store's deletion (a lease renewal, a job's last write) would
   * otherwise put back the folders the deletion had just removed, and leave a store that is gone
   * yet still there. The objects folder missing means the store is gone.
   */
  private async makeObjectDir(dir: string): Promise<void> {
    if (dir === join(this.root, OBJECTS_DIR)) {
      const there = await stat(dir).then(
        () => true,
        (e: unknown) => {
          if (isMissing(e)) return false;
          throw e;
        },
      );
      if (!there) throw new JobStoreNotFoundError(this.locator);
      return;
    }
    try {
      await mkdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      if (code !== 'ENOENT') throw e;
    }
    await this.makeObjectDir(dirname(dir));
    await mkdir(dir).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    });
  }

  /**
   * Makes the folders of the object at `target`, then `place`s it there; again if a folder goes
   * in between, which a delete of the last other object in it does (see removeEmptyFolders):
   * between the mkdir of a folder and the mkdir of the one inside it, or between the last mkdir
   * and `place`. Each retry needs another such delete at that very moment, so a few do.
   */
  private async intoObjectDir<T>(target: string, place: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        await this.makeObjectDir(dirname(target));
        return await place();
      } catch (e) {
        if (!isMissing(e) || tries >= PLACE_TRIES) throw e;
      }
    }
  }

  private tempPath(): string {
    return join(this.root, TMP_DIR, temporaryName());
  }

  async removeAbandonedTemporaries(): Promise<{ count: number; bytes: number }> {
    const dir = join(this.root, TMP_DIR);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if (isMissing(e)) return { count: 0, bytes: 0 };
      throw this.unreadable(e, 'listing its temporary files');
    }
    // This process's start: a temporary untouched since is no write of this run's.
    const startedAt = Date.now() - process.uptime() * 1000;
    let count = 0;
    let bytes = 0;
    for (const name of names) {
      const path = join(dir, name);
      const s = await stat(path).catch(() => undefined);
      if (!s?.isFile() || !abandonedTemporary(name, s.mtimeMs, Date.now(), startedAt)) continue;
      const removed = await unlink(path).then(
        () => true,
        () => false,
      );
      // Not removed: gone already (another leader's sweep came first), or the disk refused.
      if (!removed) continue;
      count++;
      bytes += s.size;
    }
    return { count, bytes };
  }

  /** `bytes` in a new temporary file of the store; `what` says what for, should the disk refuse. */
  private async writeTemp(bytes: Buffer, what: string): Promise<string> {
    const tmp = this.tempPath();
    let handle;
    try {
      handle = await open(tmp, 'wx');
    } catch (e) {
      // The temp directory goes with the store, so its absence means the store is gone.
      if (isMissing(e)) throw new JobStoreNotFoundError(this.locator);
      throw this.refused(e, what);
    }
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (e) {
      // A write the disk refused half-way leaves what it wrote, which would hold on to the very
      // room the next write lacks: removed here, as nothing else names the file.
      await handle.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw this.refused(e, what);
    }
    await handle.close();
    return tmp;
  }

  /** `e` as a JobStoreUnavailableError when it is the file system refusing a read, else as it was. */
  private unreadable(e: unknown, what: string): unknown {
    const err = e as NodeJS.ErrnoException;
    const why = typeof err.syscall === 'string' ? READ_REFUSED[err.code ?? ''] : undefined;
    if (why === undefined) return e;
    return new JobStoreUnavailableError(
      `job store ${this.locator} could not be read: ${why} (${err.code}) ${what} (expected a readable job store: fix its path or its disk, then run again)`,
      e,
    );
  }

  /**
   * `e` as a JobStoreUnwritableError when it is the file system refusing a write in this store
   * (full, read-only, ...), else as it was. An error of a file elsewhere (the source a stream was
   * read from) is not the store's.
   */
  private refused(e: unknown, what: string): unknown {
    const err = e as NodeJS.ErrnoException;
    const why = typeof err.syscall === 'string' ? WRITE_REFUSED[err.code ?? ''] : undefined;
    if (why === undefined) return e;
    if (err.path !== undefined && !resolve(err.path).startsWith(resolve(this.root) + sep)) return e;
    return new JobStoreUnwritableError(this.locator, what, why, err.code!);
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lockPath = join(this.root, LOCK_DIR, createHash('sha1').update(key).digest('hex'));
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

function encodeSegment(segment: string): string {
  return segment.replaceAll('%', '%25');
}

/** The foreign entries already told of, by absolute path: a command lists a store many times. */
const FOREIGN_TOLD = new Set<string>();
/** How many foreign entries a warning names before "and N more". */
const FOREIGN_NAMED = 8;

/**
 * What a listing left out of the objects folder, and what follows from it: nothing toil wrote is
 * among them (its names never take those forms), so the workflow's state is whole, but whatever
 * they hold is not read by toil status or --restart, and toil clean deletes them with the store.
 */
export function foreignEntriesMessage(locator: string, root: string, paths: readonly string[]): string {
  const shown = paths.slice(0, FOREIGN_NAMED).map((p) => relative(root, p).split(sep).join('/'));
  const more = paths.length - shown.length;
  return (
    `job store ${locator}: ${paths.length === 1 ? 'an entry' : `${paths.length} entries`} of its objects folder ` +
    `${paths.length === 1 ? 'is' : 'are'} not named as the store names what it writes, so ${paths.length === 1 ? 'it is' : 'they are'} left out of what it lists ` +
    `(not read by toil status or --restart; toil clean deletes ${paths.length === 1 ? 'it' : 'them'} with the store): ` +
    `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''} (expected only what toil wrote there: move ${paths.length === 1 ? 'it' : 'them'} out of the job store)`
  );
}

function decodeSegment(name: string): string {
  return name.replaceAll('%25', '%');
}

/** Etag of an object without a header (a legacy store's): the SHA-1 its store used. */
function legacyEtag(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

function headerOf(integrity: Integrity): Buffer {
  const header = `${HEADER_MAGIC}${String(integrity.length).padStart(16, '0')} ${integrity.sha256}\n`;
  return Buffer.from(header, 'latin1');
}

function parseHeader(file: Buffer): Integrity | undefined {
  if (file.length < HEADER_LEN) return undefined;
  const m = HEADER_RE.exec(file.subarray(0, HEADER_LEN).toString('latin1'));
  return m ? { length: Number(m[1]), sha256: m[2]! } : undefined;
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A deleter record, or undefined for one that does not parse (torn by a deleter killed as it wrote). */
function parseDeleter(text: string): { holder: ProcessIdentity; since: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { holder, since } = value as { holder?: Partial<ProcessIdentity>; since?: unknown };
  if (typeof holder?.host !== 'string' || typeof holder.pid !== 'number' || typeof since !== 'number')
    return undefined;
  return {
    holder: {
      host: holder.host,
      pid: holder.pid,
      ...(typeof holder.bootId === 'string' ? { bootId: holder.bootId } : {}),
      ...(typeof holder.pidNamespace === 'string' ? { pidNamespace: holder.pidNamespace } : {}),
    },
    since,
  };
}
