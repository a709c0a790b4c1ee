import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startS3rver } from '../fixtures/s3rver.js';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

// Jobs write files as Toil's docs do: from named local files (two of them both `part.txt`),
// and one from bytes, which has no name.
const WORKFLOW = `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, defineWorkflow, type FileID } from 'toil-ts';
const SMALL = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const part = defineJob<number, FileID>('part', SMALL, async (job, i) => {
  const path = join(job.tempDir, 'part.txt');
  writeFileSync(path, 'part ' + i + '\\n');
  return job.fileStore.writeGlobalFile(path);
});
const report = defineJob<FileID[], FileID[]>('report', SMALL, async (job, parts) => {
  const path = join(job.tempDir, 'report.txt');
  writeFileSync(path, 'report of ' + parts.length + '\\n');
  return [await job.fileStore.writeGlobalFile(path), await job.fileStore.writeGlobalFileBytes('no name')];
});
const root = defineJob<null, FileID[]>('root', SMALL, (job) =>
  job.addFollowOn(report, [1, 2].map((i) => job.addChild(part, i).rv())).rv());
export default defineWorkflow<FileID[]>({
  async start(ctx) {
    writeFileSync('input.csv', 'a,b\\n');
    await ctx.importFile('input.csv');
    return ctx.root(root, null);
  },
});
`;

async function filesWorkflow(
  t: Test,
  dir: string,
  store: string,
  env?: NodeJS.ProcessEnv,
  source = WORKFLOW,
): Promise<void> {
  writeFileSync(join(dir, 'wf.ts'), source);
  const r = await runToil(['run', 'wf.ts', store, '--clean', 'never', '--disableProgress'], {
    cwd: dir,
    ...(env ? { env } : {}),
  });
  t.equal(r.code, 0, r.stderr);
}

/** Lists and fetches the files of `store`, as Toil's debugging docs do. */
async function listAndFetch(t: Test, dir: string, store: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const opts = { cwd: dir, ...(env ? { env } : {}) };
  const list = await runToil(['debug-file', store, '--listFilesInJobStore'], opts);
  t.equal(list.code, 0, list.stderr);
  const names = readFileSync(join(dir, 'jobstore_files.txt'), 'utf8').trim().split('\n');
  t.same(
    names.filter((n) => !/^[0-9a-f-]{36}$/.test(n)),
    ['input.csv', 'part.txt', 'part.txt', 'report.txt'],
    'named files by the name they were written from, sorted',
  );
  t.equal(
    names.filter((n) => /^[0-9a-f-]{36}$/.test(n)).length,
    1,
    'the file written from bytes by its UUID',
  );
  t.match(list.stdout, /^5 file\(s\) in job store /m);
  t.match(
    list.stdout,
    /^ {2}report\.txt +\d+ B +files\/(?:[0-9a-f-]{36}\/\d+\/)?[0-9a-f-]{36}\/report\.txt$/m,
    'name, size and file ID',
  );

  const fetched = await runToil(
    ['debug-file', store, '--fetch', '*.txt', 'input.csv', '--localFilePath', 'out'],
    opts,
  );
  t.equal(fetched.code, 0, fetched.stderr);
  const got = readdirSync(join(dir, 'out')).sort();
  t.equal(got.length, 4, `four files: ${got.join(' ')}`);
  t.equal(readFileSync(join(dir, 'out/report.txt'), 'utf8'), 'report of 2\n');
  t.equal(readFileSync(join(dir, 'out/input.csv'), 'utf8'), 'a,b\n');
  const parts = got
    .filter((n) => n.endsWith('part.txt'))
    .map((n) => readFileSync(join(dir, 'out', n), 'utf8'));
  t.same(parts.sort(), ['part 1\n', 'part 2\n'], 'two files of one name both arrive');

  const none = await runToil(['debug-file', store, '--fetch', '*.bam'], opts);
  t.equal(none.code, 1, 'a pattern that matches nothing fails');
  t.match(none.stderr, /^toil: --fetch \*\.bam: no file of the job store matches it$/m);

  const all = await runToil(
    ['debug-file', store, '--fetchEntireJobStore', 'True', '--localFilePath', 'all'],
    opts,
  );
  t.equal(all.code, 0, all.stderr);
  t.equal(readdirSync(join(dir, 'all')).length, 5, 'every file');
}

t.test(
  'toil debug-file lists and fetches the files a workflow wrote, by name, on a file: store',
  async (t) => {
    const dir = scratchDir(t);
    await filesWorkflow(t, dir, 'file:./js');
    await listAndFetch(t, dir, 'file:./js');

    const nothing = await runToil(['debug-file', 'file:./js'], { cwd: dir });
    t.equal(nothing.code, 2);
    t.match(
      nothing.stderr,
      /^toil: nothing to do: expected --listFilesInJobStore, --fetch PATTERN\.\.\. or --fetchEntireJobStore$/m,
    );
    const missing = await runToil(['debug-file', 'file:./nope', '--listFilesInJobStore'], { cwd: dir });
    t.equal(missing.code, 2);
    t.match(missing.stderr, /job store file:\.\/nope does not exist/);
    t.notOk(existsSync(join(dir, 'nope')), 'no job store made');

    // A damaged file is named and not written under its name; the others still arrive.
    const jsFiles = join(dir, 'js');
    const damaged = findObject(jsFiles, 'report.txt');
    writeFileSync(damaged, readFileSync(damaged).subarray(0, -3));
    const r = await runToil(['debug-file', 'file:./js', '--fetch', '*.txt', '--localFilePath', 'bad'], {
      cwd: dir,
    });
    t.equal(r.code, 1);
    t.match(
      r.stderr,
      /^toil: could not fetch files\/(?:[0-9a-f-]{36}\/\d+\/)?[0-9a-f-]{36}\/report\.txt: .*damaged/m,
    );
    t.notOk(existsSync(join(dir, 'bad/report.txt')), 'no half a file under its name');
    t.equal(
      readdirSync(join(dir, 'bad')).filter((n) => !n.startsWith('.')).length,
      2,
      'the two part.txt arrive',
    );
  },
);

t.test('toil debug-file works on an aws: store too (s3rver)', async (t) => {
  const s3rver = await startS3rver();
  t.teardown(() => s3rver.stop());
  const dir = scratchDir(t);
  const env = { ...process.env, ...s3rver.env };
  await filesWorkflow(t, dir, 'aws:us-west-2:debug-file', env);
  await listAndFetch(t, dir, 'aws:us-west-2:debug-file', env);
});

// One job writes three files from local files of one name, as a job that writes its output in a
// loop does: the files share the job's ID and attempt at the front of their IDs.
const SAME_NAME_WORKFLOW = `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, defineWorkflow, type FileID } from 'toil-ts';
const parts = defineJob<null, FileID[]>('parts', { cores: 0.1, memory: '32Mi', disk: '1Mi' }, async (job) => {
  const ids: FileID[] = [];
  for (const i of [1, 2, 3]) {
    const path = join(job.tempDir, 'part.txt');
    writeFileSync(path, 'part ' + i + '\\n');
    ids.push(await job.fileStore.writeGlobalFile(path));
  }
  return ids;
});
export default defineWorkflow<FileID[]>({ start: (ctx) => ctx.root(parts, null) });
`;

t.test(
  'toil debug-file --fetch: three files of one name one job wrote all arrive, each but the first under its own UUID',
  async (t) => {
    const dir = scratchDir(t);
    await filesWorkflow(t, dir, 'file:./js', undefined, SAME_NAME_WORKFLOW);
    const opts = { cwd: dir };
    const list = await runToil(['debug-file', 'file:./js', '--listFilesInJobStore'], opts);
    t.equal(list.code, 0, list.stderr);
    const uuids = [
      ...list.stdout.matchAll(/^ {2}part\.txt +.* files\/\S+\/([0-9a-f-]{36})\/part\.txt$/gm),
    ].map((m) => m[1]!);
    t.equal(uuids.length, 3, `three files named part.txt listed\n${list.stdout}`);

    const fetch = ['debug-file', 'file:./js', '--fetch', 'part.txt', '--localFilePath', 'out'];
    const fetched = await runToil(fetch, opts);
    t.equal(fetched.code, 0, fetched.stderr);
    const got = readdirSync(join(dir, 'out')).sort();
    t.same(
      got.map((n) => readFileSync(join(dir, 'out', n), 'utf8')).sort(),
      ['part 1\n', 'part 2\n', 'part 3\n'],
      `each file arrives, none written over another: ${got.join(' ')}`,
    );
    t.same(
      got.filter((n) => n !== 'part.txt').sort(),
      uuids
        .slice(1)
        .map((u) => `${u}-part.txt`)
        .sort(),
      "the second and third under their files' UUIDs",
    );
  },
);

/** The path of the object of a file job store whose key ends with `name`. */
function findObject(root: string, name: string): string {
  const stack = [root];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name === name) return p;
    }
  }
  throw new Error(`no object named ${name} under ${root}`);
}
