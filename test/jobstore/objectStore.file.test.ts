import { createHash, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { thisProcess } from '../../src/common/processIdentity.js';
import { JobStoreExistsError } from '../../src/jobstore/errors.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import type { ObjectInfo } from '../../src/jobstore/objectStore.js';
import { readAll } from '../fixtures/objectStoreContract.js';
import { waitFor } from '../fixtures/waitFor.js';

// What only the file backend promises, beyond the shared contract: atomic replacement on disk,
// safe create/destroy of directories it does not own, and a layout a person can read.

const root = mkdtempSync(join(tmpdir(), 'filestore-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => new FileObjectStore(join(root, `store-${++n}`));

async function listAll(store: FileObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) out.push(info);
  return out;
}

t.test('a reader racing a writer never sees a partial or mixed body', async (t) => {
  const store = fresh();
  await store.create();
  const size = 2 * 1024 * 1024;
  const bodies = [Buffer.alloc(size, 'a'), Buffer.alloc(size, 'b')];
  await store.put('hot', bodies[0]!);
  let writing = true;
  let writes = 0;
  const writer = (async () => {
    for (let i = 1; i <= 40; i++) {
      await store.put('hot', bodies[i % 2]!);
      writes++;
    }
    writing = false;
  })();
  let reads = 0;
  const torn: string[] = [];
  const seen = new Set<string>();
  while (writing) {
    const [viaGet, viaStream] = await Promise.all([
      store.get('hot').then((o) => o!.body),
      store.getStream('hot').then(readAll),
    ]);
    for (const body of [viaGet, viaStream]) {
      reads++;
      const first = String.fromCharCode(body[0]!);
      seen.add(first);
      if (body.length !== size || !body.equals(first === 'a' ? bodies[0]! : bodies[1]!)) {
        torn.push(`${body.length} bytes starting ${first}`);
      }
    }
  }
  await writer;
  t.equal(writes, 40);
  t.ok(reads >= 10, `the reader overlapped the writer (${reads} reads)`);
  t.same(seen, new Set(['a', 'b']), 'the reader saw both versions, so it really raced the writer');
  t.same(torn, [], 'every read was one whole version');
});

t.test(
  'create refuses a path holding what it did not make, saying what is there; takes an empty directory',
  async (t) => {
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'thesis.tex'), 'precious');
    await t.rejects(new FileObjectStore(foreign).create(), {
      code: 'JOBSTORE_NOT_OURS',
      message:
        /foreign is a directory of other files \(e\.g\. 'thesis\.tex'\), not a job store, so it is not used/,
    });
    const file = join(root, 'a-file');
    writeFileSync(file, 'precious');
    await t.rejects(new FileObjectStore(file).create(), {
      code: 'JOBSTORE_NOT_OURS',
      message: /a-file is a file, not a job store/,
    });
    await t.rejects(new FileObjectStore(join(file, 'store')).create(), {
      code: 'JOBSTORE_NOT_OURS',
      message: /a-file cannot be made as a directory \(EEXIST\)/,
    });
    t.equal(readFileSync(file, 'utf8'), 'precious', 'the file is untouched');
    const made = new FileObjectStore(join(root, 'made'));
    await made.create();
    await t.rejects(
      new FileObjectStore(join(root, 'made')).create(),
      JobStoreExistsError,
      'a job store: exists',
    );
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const store = new FileObjectStore(empty);
    await store.create();
    t.equal(await store.exists(), true);
  },
);

/** What create() leaves when its leader is killed before the marker: the folders, a temp file. */
function cutShortCreate(dir: string): void {
  for (const sub of ['.tmp', '.locks', 'objects']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, '.tmp', 'marker.partial'), 'toil-ts');
}

t.test('a create cut short by a killed leader is finished by the next create, and only that', async (t) => {
  const cut = join(root, 'cut-short');
  cutShortCreate(cut);
  const store = new FileObjectStore(cut);
  t.equal(await store.exists(), false, 'no marker: not a job store yet');
  await store.create();
  t.equal(await store.exists(), true, 'the next create finishes it');
  await store.put('k', Buffer.from('v'));
  t.equal((await store.get('k'))?.body.toString(), 'v');

  for (const [name, extra] of [
    ['with an object in it', (d: string) => writeFileSync(join(d, 'objects', 'k'), 'data')],
    ['with a lock in it', (d: string) => writeFileSync(join(d, '.locks', 'lease'), 'someone')],
    ['with a file of its own', (d: string) => writeFileSync(join(d, 'thesis.tex'), 'precious')],
  ] as const) {
    const dir = join(root, `cut-short-${name.replace(/ /g, '-')}`);
    cutShortCreate(dir);
    extra(dir);
    await t.rejects(new FileObjectStore(dir).create(), { code: 'JOBSTORE_NOT_OURS' }, `refused ${name}`);
    await new FileObjectStore(dir).destroy();
    t.equal(existsSync(dir), true, `destroy leaves a directory ${name}`);
  }
});

t.test('destroy never deletes a directory that is not a job store', async (t) => {
  const foreign = join(root, 'home');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'precious');
  await new FileObjectStore(foreign).destroy();
  t.equal(readFileSync(join(foreign, 'notes.txt'), 'utf8'), 'precious', 'untouched');
  const empty = join(root, 'left-by-a-failed-create');
  mkdirSync(empty);
  await new FileObjectStore(empty).destroy();
  t.equal(existsSync(empty), false, 'an empty directory is removed');
  const cut = join(root, 'left-by-a-killed-create');
  cutShortCreate(cut);
  await new FileObjectStore(cut).destroy();
  t.equal(existsSync(cut), false, 'the skeleton a create cut short leaves is removed');
});

/**
 * A deletion removes the store's folders one by one; a write that began before (a lease renewal,
 * a job's last write: its body already in the store's temporary folder) and makes its object's
 * folders after the objects folder went must not put them back, or the store, deleted and said to
 * be, is still there.
 */
t.test("a write racing the store's deletion does not put back the folders it removed", async (t) => {
  const dir = join(root, 'deleted-under-a-write');
  const store = new FileObjectStore(dir);
  await store.create();
  await store.put('files/job/1/first', Buffer.from('one'));
  // The moment of the race: the objects folder gone, the temporary folder not yet.
  rmSync(join(dir, 'objects'), { recursive: true, force: true });
  await t.rejects(store.put('files/job/2/second', Buffer.from('two')), { code: 'JOBSTORE_NOT_FOUND' });
  await t.rejects(store.put('leader.json', Buffer.from('{}')), { code: 'JOBSTORE_NOT_FOUND' });
  await t.rejects(store.putStream('files/job/2/third', Readable.from([Buffer.from('three')])), {
    code: 'JOBSTORE_NOT_FOUND',
  });
  t.equal(existsSync(join(dir, 'objects')), false, 'no write made the objects folder again');
  t.same(readdirSync(join(dir, '.tmp')), [], 'no temporary file is left behind');
});

t.test(
  'deleting the last object under a folder removes the folders it leaves empty, up to the objects folder',
  async (t) => {
    const store = fresh();
    await store.create();
    const objects = join(store.root, 'objects');
    const folder = (...segments: string[]): string => join(objects, ...segments.map((s) => `${s}%`));
    await store.put('files/job/1/u/report.txt', 'named');
    await store.put('files/job/1/v', 'unnamed');
    await store.put('files/job/2/w', 'another attempt');
    await store.put('jobs/a', 'ticket');

    await store.delete('files/job/1/u/report.txt');
    t.equal(existsSync(folder('files', 'job', '1', 'u')), false, "the named file's own folder goes");
    t.equal(existsSync(folder('files', 'job', '1')), true, 'its attempt folder stays while it holds a file');

    await store.delete('files/job/1/v');
    t.equal(existsSync(folder('files', 'job', '1')), false, "the attempt's emptied folder goes");
    t.same(readdirSync(folder('files', 'job')), ['2%'], "the job's folder stays, with the other attempt's");

    await store.delete('files/job/2/w');
    t.same(readdirSync(objects), ['jobs%'], 'the whole emptied chain goes, and nothing beside it');

    await store.delete('jobs/a');
    t.same(readdirSync(objects), [], 'the objects folder itself stays, empty');
    t.equal(await store.exists(), true, 'and the store with it');
    await store.put('files/job/3/x', 'later');
    t.equal(
      (await store.get('files/job/3/x'))?.body.toString(),
      'later',
      'a later write makes its folders again',
    );
  },
);

t.test('writes into a folder that concurrent deletes keep emptying and removing all succeed', async (t) => {
  const store = fresh();
  await store.create();
  // Each writer puts its own object in the shared folder and deletes it again, so the folder
  // keeps going empty (and away) while other writers are between making it and renaming into it.
  const writers = 8;
  const rounds = 150;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < rounds; i++) {
        const key = `files/job/1/w${w}-${i}`;
        try {
          if (i % 3 === 2) await store.putStream(key, Readable.from([Buffer.from(key)]));
          else await store.put(key, key, i % 3 === 1 ? { ifNoneMatch: '*' } : {});
          const read = await store.get(key);
          if (read?.body.toString() !== key) failures.push(`${key}: read back ${read?.body.toString()}`);
          await store.delete(key);
        } catch (e) {
          failures.push(`${key}: ${(e as Error).message}`);
        }
      }
    }),
  );
  t.same(failures, [], `every one of ${writers * rounds} put/delete pairs succeeded`);
  t.same(readdirSync(join(store.root, 'objects')), [], 'the last delete left no folder behind');
  t.same(readdirSync(join(store.root, '.tmp')), [], 'no temporary file is left behind');
});

/**
 * A store as another process's deletion leaves it at each moment: marker renamed, an object not
 * yet deleted, and the deleter record naming `holder`, last touched `ageMs` ago.
 */
async function deletionBy(dir: string, holder: unknown, ageMs: number): Promise<FileObjectStore> {
  const store = new FileObjectStore(dir);
  await store.create();
  await store.put('jobs/a', Buffer.from('job'));
  const record = join(dir, '.toil-jobstore-deleter');
  writeFileSync(record, JSON.stringify({ format: 1, holder, since: Date.now() - ageMs }));
  const heard = new Date(Date.now() - ageMs);
  utimesSync(record, heard, heard);
  renameSync(join(dir, '.toil-jobstore'), join(dir, '.toil-jobstore-destroying'));
  return store;
}

t.test(
  "another process's deletion underway is refused to every command until its deleter is gone or silent; then it is cut short",
  async (t) => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    t.teardown(() => sleeper.kill('SIGKILL'));
    const here = thisProcess();
    const gonePid = await new Promise<number>((resolve) => {
      const child = spawn('true', { stdio: 'ignore' });
      child.on('exit', () => resolve(child.pid ?? 0));
    });
    const rows: { name: string; holder: object | 'torn'; ageMs: number; underway: boolean }[] = [
      {
        name: 'a live process of this machine',
        holder: { ...here, pid: sleeper.pid },
        ageMs: 0,
        underway: true,
      },
      {
        name: 'a live process of this machine not heard from for 31 s',
        holder: { ...here, pid: sleeper.pid },
        ageMs: 31_000,
        underway: false,
      },
      {
        name: 'a dead process of this machine',
        holder: { ...here, pid: gonePid },
        ageMs: 0,
        underway: false,
      },
      {
        name: 'a process of another machine, heard from 20 s ago',
        holder: { host: 'elsewhere', pid: 7 },
        ageMs: 20_000,
        underway: true,
      },
      {
        name: 'a process of another machine, silent for 31 s',
        holder: { host: 'elsewhere', pid: 7 },
        ageMs: 31_000,
        underway: false,
      },
      { name: 'a record torn as it was written', holder: 'torn', ageMs: 0, underway: false },
    ];
    for (const row of rows) {
      const dir = join(root, `deletion-by-${row.name.replace(/\W+/g, '-')}`);
      const store = await deletionBy(dir, row.holder, row.ageMs);
      if (row.holder === 'torn') writeFileSync(join(dir, '.toil-jobstore-deleter'), '{"format":1,"hol');
      t.equal(await store.isCutShortDestroy(), !row.underway, `${row.name}: cut short? ${!row.underway}`);
      if (row.underway) {
        const refused = {
          code: 'JOBSTORE_BEING_DELETED',
          message: new RegExp(
            `is being deleted by process ${(row.holder as { pid: number }).pid} on ${(row.holder as { host: string }).host} since `,
          ),
        };
        await t.rejects(store.assertOurs(), refused, `${row.name}: not ours to use`);
        await t.rejects(store.finishCutShortDestroy(), refused, `${row.name}: not finished from under it`);
        await t.rejects(new FileObjectStore(dir).create(), refused, `${row.name}: no store made there`);
        t.equal(existsSync(join(dir, 'objects')), true, `${row.name}: its remains are left to their deleter`);
      } else {
        await new FileObjectStore(dir).create();
        t.equal(await store.exists(), true, `${row.name}: a create finishes the remains and makes the store`);
        t.equal(await store.get('jobs/a'), undefined, `${row.name}: none of the old objects is left`);
      }
    }
  },
);

t.test('concurrent creates of one store: exactly one succeeds', async (t) => {
  const path = join(root, 'contended');
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, () => new FileObjectStore(path).create()),
  );
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') t.type(r.reason, JobStoreExistsError);
});

t.test(
  'layout: objects/ holds one file per key (header, then the bytes); directories end in %',
  async (t) => {
    const store = fresh();
    await store.create();
    await store.put('jobs/abc', 'job');
    await store.put('jobs', 'a key that is also a directory');
    await store.put('50%/x', 'percent');
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    t.equal(
      readFileSync(join(store.root, 'objects', 'jobs%', 'abc'), 'utf8'),
      `toil-ts object 1 0000000000000003 ${sha('job')}\njob`,
      'a 99-byte header with the length and SHA-256, then the bytes as written',
    );
    t.equal(
      readFileSync(join(store.root, 'objects', 'jobs'), 'utf8').slice(99),
      'a key that is also a directory',
    );
    t.equal(readFileSync(join(store.root, 'objects', '50%25%', 'x'), 'utf8').slice(99), 'percent');
    t.match(readFileSync(join(store.root, '.toil-jobstore'), 'utf8'), /^toil-ts job store\nformat 2:/);
  },
);

t.test('a store from before headers (format 1 marker) reads its objects as they are', async (t) => {
  const store = fresh();
  await store.create();
  writeFileSync(join(store.root, '.toil-jobstore'), 'toil-ts job store\n');
  mkdirSync(join(store.root, 'objects', 'leader%'), { recursive: true });
  writeFileSync(join(store.root, 'objects', 'leader%', 'workflows.json'), '[]');
  t.equal((await store.get('leader/workflows.json'))?.body.toString(), '[]');
  const again = new FileObjectStore(store.root);
  writeFileSync(join(store.root, '.toil-jobstore'), readFileSync(join(store.root, '.toil-jobstore')));
  t.equal((await again.get('leader/workflows.json'))?.body.toString(), '[]', 'from a fresh store object too');
  const current = fresh();
  await current.create();
  mkdirSync(join(current.root, 'objects', 'leader%'), { recursive: true });
  writeFileSync(join(current.root, 'objects', 'leader%', 'workflows.json'), '[]');
  await t.rejects(
    current.get('leader/workflows.json'),
    {
      code: 'JOBSTORE_CORRUPT',
      message: /object leader\/workflows.json lacks the header/,
    },
    'in a current store the same file is damaged',
  );
});

t.test('a lock left by a writer that died is taken over once stale', async (t) => {
  const store = fresh();
  await store.create();
  const v1 = await store.put('state', 'v1');
  const { createHash } = await import('node:crypto');
  const lock = join(store.root, '.locks', createHash('sha1').update('state').digest('hex'));
  writeFileSync(lock, '');
  const { utimesSync } = await import('node:fs');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  await store.put('state', 'v2', { ifMatch: v1.etag });
  t.equal((await store.get('state'))?.body.toString(), 'v2');
  t.equal(existsSync(lock), false, 'and released');
});

t.test('a listing names an object it cannot read instead of leaving it out', async (t) => {
  const store = fresh();
  await store.create();
  await store.put('commits/a', 'A');
  await store.put('commits/b', 'B');
  t.same(
    (await listAll(store, 'commits/')).map((o) => o.key),
    ['commits/a', 'commits/b'],
    'both listed',
  );
  // A link to itself where b's file was: every open of it fails with ELOOP, as a bad disk's EIO would.
  const b = join(store.root, 'objects', 'commits%', 'b');
  rmSync(b);
  symlinkSync('b', b);
  await t.rejects(listAll(store, 'commits/'), {
    code: 'JOBSTORE_UNAVAILABLE',
    message: /could not be read: a loop of symbolic links in its path \(ELOOP\) reading commits\/b /,
  });
  rmSync(b);
  t.same(
    (await listAll(store, 'commits/')).map((o) => o.key),
    ['commits/a'],
    'an object gone is simply absent',
  );
});

/** A process writing a 2 MiB object to the store at `root` by a stream: 1 MiB, then the rest once told. */
function streamingWriter(root: string): { child: ChildProcess; done: Promise<string> } {
  const code = `
    const { FileObjectStore } = await import(process.argv[1]);
    const { Readable } = await import('node:stream');
    async function* body() {
      yield Buffer.alloc(1 << 20, 1);
      for await (const _ of process.stdin) break;
      yield Buffer.alloc(1 << 20, 2);
    }
    const info = await new FileObjectStore(process.argv[2]).putStream('big', Readable.from(body()));
    process.stdout.write(String(info.size));
  `;
  const module = new URL('../../src/jobstore/fileObjectStore.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, module, root], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { child, done: new Promise((resolve) => child.on('close', () => resolve(out))) };
}

/** The temporary files of the store at `root` holding at least 1 MiB of a body. */
function filledTemporaries(root: string): string[] {
  const dir = join(root, '.tmp');
  return readdirSync(dir).filter((n) => statSync(join(dir, n)).size >= 1 << 20);
}

t.test(
  "a writer's half-written file is removed once its writer was killed, never while it writes, nor one whose writer cannot be told and was written within the hour",
  async (t) => {
    const store = fresh();
    await store.create();
    const tmp = join(store.root, '.tmp');
    const live = streamingWriter(store.root);
    t.teardown(() => live.child.kill('SIGKILL'));
    await waitFor('the first writer to be half-way', () => filledTemporaries(store.root).length === 1);
    const [liveTemp] = filledTemporaries(store.root);
    const killed = streamingWriter(store.root);
    await waitFor('the second writer to be half-way', () => filledTemporaries(store.root).length === 2);
    const [killedTemp] = filledTemporaries(store.root).filter((n) => n !== liveTemp);
    const killedSize = statSync(join(tmp, killedTemp!)).size;
    killed.child.kill('SIGKILL');
    await killed.done;
    // Temporaries whose writer cannot be told alive or gone: unnamed (an older toil-ts), or
    // named on another machine; each written just now, and two hours ago.
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const unknown = {
      fresh: [randomUUID(), `w-0123456789abcdef-7-${randomUUID()}`],
      old: [randomUUID(), `w-0123456789abcdef-8-${randomUUID()}`],
    };
    for (const name of [...unknown.fresh, ...unknown.old]) writeFileSync(join(tmp, name), 'x'.repeat(1000));
    for (const name of unknown.old) utimesSync(join(tmp, name), twoHoursAgo, twoHoursAgo);

    t.same(
      await store.removeAbandonedTemporaries(),
      { count: 3, bytes: killedSize + 2000 },
      "the killed writer's file and the two untouched for two hours are removed",
    );
    t.same(
      readdirSync(tmp).sort(),
      [liveTemp!, ...unknown.fresh].sort(),
      "the live writer's file and those written lately are kept",
    );
    live.child.stdin!.end('go\n');
    t.equal(await live.done, String(2 << 20), 'the live writer finishes its write');
    t.equal((await store.get('big'))?.body.length, 2 << 20, 'and its object is whole');
    t.same(
      await store.removeAbandonedTemporaries(),
      { count: 0, bytes: 0 },
      'nothing more is removed while the rest may be written',
    );
  },
);
