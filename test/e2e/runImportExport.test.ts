import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { messageLines, runToil, scratchDir } from '../fixtures/workflowCli.js';

// Toil's tutorial_staging: import a file by its file:// URL, append to it in a job, export the
// result to a file:// URL. Arguments: the source and the destination, as given.
const STAGING = `
import { defineJob, defineWorkflow, type FileID } from 'toil-ts';
const hello = defineJob<FileID, FileID>('hello', { cores: 0.1, memory: '32Mi', disk: '1Mi' }, async (job, id) =>
  job.fileStore.writeGlobalFileBytes((await job.fileStore.readGlobalFileBytes(id)).toString() + 'World!'));
export default defineWorkflow<FileID>({
  async start(ctx) { return ctx.root(hello, await ctx.importFile(ctx.args[0]!)); },
  async finish(ctx, out) { await ctx.exportFile(out, ctx.args[1]!); },
});
`;

function setup(t: { teardown(fn: () => void): void }): string {
  const dir = scratchDir(t);
  writeFileSync(join(dir, 'staging.ts'), STAGING);
  writeFileSync(join(dir, 'in.txt'), 'Hello,\n');
  return dir;
}

t.test("imports and exports by file:// URL, as Toil's staging example does", async (t) => {
  const dir = setup(t);
  const from = pathToFileURL(join(dir, 'in.txt')).href;
  const to = pathToFileURL(join(dir, 'out.txt')).href;
  const r = await runToil(['run', 'staging.ts', 'file:./js', from, to], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'Hello,\nWorld!');
});

t.test(
  'an import of a directory or of a URL toil-ts cannot read is one line, exit 2, no job store',
  async (t) => {
    const dir = setup(t);
    mkdirSync(join(dir, 'inputs'));
    const cases: [string, RegExp][] = [
      [
        'inputs',
        /^toil: cannot import inputs: it is a directory \(expected a file; import each file of a directory on its own\)\n$/,
      ],
      [
        'http://127.0.0.1:9/in.txt',
        /^toil: cannot import http:\/\/127\.0\.0\.1:9\/in\.txt: toil-ts imports local files only, a path or a file:\/\/ URL, not http:\/\/ \(download it first and import the local copy\)\n$/,
      ],
      ['s3://bucket/in.txt', /^toil: cannot import s3:\/\/bucket\/in\.txt: .*not s3:\/\//],
    ];
    for (const [source, expected] of cases) {
      const r = await runToil(['run', 'staging.ts', 'file:./js', source, 'out.txt'], { cwd: dir });
      t.equal(r.code, 2, r.stderr);
      // The run's own message; an INFO line about another killed leader's scratch may come first.
      t.match(`${messageLines(r.stderr).join('\n')}\n`, expected);
      t.notOk(existsSync(join(dir, 'js')), `no job store left behind (${source})`);
    }
  },
);

t.test(
  'an export where no file can be written names the reason; the job store is kept and no partial file left',
  async (t) => {
    const dir = setup(t);
    const r = await runToil(['run', 'staging.ts', 'file:./js', 'in.txt', 'no/such/dir/out.txt'], {
      cwd: dir,
    });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /failed: cannot export file files\/[-0-9a-f/]+ to no\/such\/dir\/out\.txt: its directory no\/such\/dir does not exist\n\s+at .*staging\.ts:\d+:\d+/,
    );
    t.notMatch(r.stderr, /internal error|ENOENT/);
    const intoDir = await runToil(['run', 'staging.ts', 'file:./js', '--restart', 'in.txt', '.'], {
      cwd: dir,
    });
    t.equal(intoDir.code, 1, intoDir.stderr);
    t.match(
      intoDir.stderr,
      /cannot export file files\/[-0-9a-f/]+ to \.: it is a directory \(expected the path of a file\)/,
    );
    t.same(
      readdirSync(dir).filter((f) => f.includes('partial')),
      [],
      'no partial file',
    );
    const fixed = await runToil(['run', 'staging.ts', 'file:./js', '--restart', 'in.txt', 'out.txt'], {
      cwd: dir,
    });
    t.equal(fixed.code, 0, fixed.stderr);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'Hello,\nWorld!');
  },
);

// Toil's AbstractFileStore has import_file/export_file too: a job stages files itself.
const IN_JOB = `
import { defineJob, defineWorkflow } from 'toil-ts';
const stage = defineJob<{ from: string; to: string }, string>('stage', { cores: 0.1, memory: '32Mi', disk: '1Mi' },
  async (job, { from, to }) => {
    const id = await job.fileStore.importFile(from);
    const out = await job.fileStore.writeGlobalFileBytes((await job.fileStore.readGlobalFileBytes(id)).toString() + 'World!');
    await job.fileStore.exportFile(out, to);
    return 'staged';
  });
export default defineWorkflow<string>({
  start(ctx) { return ctx.root(stage, { from: ctx.args[0]!, to: ctx.args[1]! }); },
});
`;

t.test('a job imports and exports through job.fileStore, with the errors of ctx', async (t) => {
  const dir = setup(t);
  writeFileSync(join(dir, 'inJob.ts'), IN_JOB);
  const from = pathToFileURL(join(dir, 'in.txt')).href;
  const to = pathToFileURL(join(dir, 'out.txt')).href;
  const r = await runToil(['run', 'inJob.ts', 'file:./js', from, to], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'Hello,\nWorld!');

  const missing = await runToil(
    ['run', 'inJob.ts', 'file:./js2', '--retryCount', '0', join(dir, 'nope.txt'), to],
    { cwd: dir },
  );
  t.equal(missing.code, 1, missing.stderr);
  t.match(missing.stderr, /cannot import \S*nope\.txt: no such file \(expected a readable file\)/);
  t.notMatch(missing.stderr, /is not a function/);

  const url = await runToil(
    ['run', 'inJob.ts', 'file:./js3', '--retryCount', '0', from, 's3://bucket/out.txt'],
    { cwd: dir },
  );
  t.equal(url.code, 1, url.stderr);
  t.match(
    url.stderr,
    /cannot export s3:\/\/bucket\/out\.txt: toil-ts exports local files only, a path or a file:\/\/ URL, not s3:\/\//,
  );
});
