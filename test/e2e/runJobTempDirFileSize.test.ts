import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// Toil's `job.tempDir` and the size Toil's FileID carries (here `getGlobalFileSize`, a FileID
// being a plain string): the job reports both, and what it left in its temp dir.
const WORKFLOW = `
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, defineWorkflow } from 'toil-ts';
const SMALL = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const sizes = defineJob<null, unknown>('sizes', SMALL, async (job) => {
  const dir = job.tempDir;
  writeFileSync(join(dir, 'scratch.txt'), 'x');
  const id = await job.fileStore.writeGlobalFileBytes('hello, world');
  const empty = await job.fileStore.writeGlobalFileBytes('');
  return {
    dir, same: job.tempDir === dir, isDir: statSync(dir).isDirectory(), kept: existsSync(join(dir, 'scratch.txt')),
    size: await job.fileStore.getGlobalFileSize(id), empty: await job.fileStore.getGlobalFileSize(empty),
  };
});
export default defineWorkflow<unknown>({
  start(ctx) { return ctx.root(sizes, null); },
  finish(ctx, r) { writeFileSync('result.json', JSON.stringify(r)); },
});
`;

t.test(
  "job.tempDir is one directory of the job's, removed when it ends; getGlobalFileSize gives a file's bytes",
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
    const work = join(dir, 'work');
    mkdirSync(work);
    const r = await runToil(['run', 'wf.ts', 'file:./js', '--workDir', work, '--disableProgress'], {
      cwd: dir,
    });
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Record<string, unknown>;
    t.match(out, { same: true, isDir: true, kept: true, size: 12, empty: 0 });
    t.ok(String(out.dir).startsWith(work), `under --workDir: ${String(out.dir)}`);
    t.notOk(existsSync(String(out.dir)), 'removed when the job ended');
  },
);
