import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

// A job writes two files, deletes one, and returns both IDs; its follow-on reads the one kept,
// and fails while the flag file `fail` is there.
const WORKFLOW = `
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, defineWorkflow, type FileID } from 'toil-ts';
const SMALL = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
type Files = { kept: FileID; deleted: FileID };
const writer = defineJob<null, Files>('writer', SMALL, async (job) => {
  const kept = await job.fileStore.writeGlobalFileBytes('kept');
  const deleted = await job.fileStore.writeGlobalFileBytes('deleted');
  job.fileStore.deleteGlobalFile(deleted);
  return { kept, deleted };
});
const reader = defineJob<{ files: Files; dir: string }, string>('reader', SMALL, async (job, { files, dir }) => {
  if (existsSync(join(dir, 'fail'))) throw new Error('told to fail');
  return (await job.fileStore.readGlobalFileBytes(files.kept)).toString();
});
const root = defineJob<string, string>('root', SMALL, (job, dir) =>
  job.addFollowOn(reader, { files: job.addChild(writer, null).rv(), dir }).rv());
export default defineWorkflow<string>({ start(ctx) { return ctx.root(root, ctx.args[0]!); } });
`;

t.test(
  'toil status names a file a committed job returned that was deleted from the store, with the job, and exits 1; one a job deleted is no damage',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
    writeFileSync(join(dir, 'fail'), '');
    const run = [
      'run',
      'wf.ts',
      'file:./js',
      dir,
      '--retryCount',
      '0',
      '--clean',
      'never',
      '--disableProgress',
    ];
    const first = await runToil(run, { cwd: dir });
    t.equal(first.code, 1, 'the reader fails, and the store is kept');
    const files = join(dir, 'js', 'objects', 'files%');
    // Object files, not the folders ('%'-ended) of a key's segments, a job's file under its attempt.
    const held = readdirSync(files, { recursive: true, encoding: 'utf8' }).filter((p) => !p.endsWith('%'));
    t.equal(held.length, 1, 'the store holds the kept file, not the one the writer deleted');

    const intact = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(intact.code, 0, intact.stderr);
    t.match(intact.stdout, /^damaged: +none /m, 'the file the writer deleted is no damage');

    rmSync(join(files, held[0]!));
    const kept = `files/${held[0]!.replaceAll('%', '')}`;
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 1, 'exit 1: a damaged object');
    t.match(status.stdout, /^damaged: +1 object\(s\) /m);
    t.match(
      status.stdout,
      new RegExp(
        `^  ${kept}: is missing, yet committed job 'writer' \\([0-9a-f-]{36}\\) returned it \\(a job that reads it fails\\)$`,
        'm',
      ),
      'the file and the job that returned it are named',
    );
    const json = await runToil(['status', 'file:./js', '--json'], { cwd: dir });
    t.equal(json.code, 1);
    t.same(
      (JSON.parse(json.stdout) as { damaged: { key: string }[] }).damaged.map((d) => d.key),
      [kept],
      '--json lists it among the damaged objects',
    );

    rmSync(join(dir, 'fail'));
    const restart = await runToil([...run, '--restart'], { cwd: dir });
    t.equal(restart.code, 1, 'and a --restart fails as status said it would');
    t.match(
      restart.stderr,
      new RegExp(`job 'reader' \\([0-9a-f-]+\\) failed .*no file ${kept} in job store`),
    );
  },
);
