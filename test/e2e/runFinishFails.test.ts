import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// finish() exports the result where its argument says; it throws while the file 'broken' exists.
const WORKFLOW = `
import { existsSync, writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const answer = defineJob<null, number>('answer', { cores: 0.1, memory: '32Mi', disk: '1Mi' }, () => 42);
export default defineWorkflow<number>({
  start(ctx) { return ctx.root(answer, null); },
  finish(ctx, result) {
    if (existsSync('broken')) throw new Error('finish was told to fail');
    writeFileSync(ctx.args[0]!, String(result));
  },
});
`;

t.test(
  "a finish() that throws is the workflow's error, the job store is kept, and --restart runs finish again",
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
    writeFileSync(join(dir, 'broken'), '');
    const failed = await runToil(['run', 'wf.ts', 'file:./js', 'out.txt', '--disableProgress'], { cwd: dir });
    t.equal(failed.code, 1, failed.stderr);
    t.notMatch(failed.stderr, /internal error/);
    t.match(
      failed.stderr,
      /toil: the finish\(\) of workflow \S*wf\.ts failed: Error: finish was told to fail\n\s+at \S*finish \S*wf\.ts:\d+:\d+/,
    );
    t.notMatch(failed.stderr, /dist\/src|runWorkflow/, "no frame of toil-ts's own code");
    t.match(
      failed.stderr,
      /the job store file:\.\/js is kept; fix the cause and run again with --restart: no job runs again/,
    );
    t.ok(existsSync(join(dir, 'js')), 'the job store is kept');

    writeFileSync(join(dir, 'broken'), '');
    const exportFailed = await runToil(['run', 'wf.ts', 'file:./js', '--restart', 'no/such/dir/out.txt'], {
      cwd: dir,
    });
    t.equal(exportFailed.code, 1, exportFailed.stderr);
    t.notMatch(exportFailed.stderr, /internal error/);

    rmSync(join(dir, 'broken'));
    const fixed = await runToil(['run', 'wf.ts', 'file:./js', '--restart', 'out.txt'], { cwd: dir });
    t.equal(fixed.code, 0, fixed.stderr);
    t.match(fixed.stderr, /0 jobs run \(1 already done before --restart\)/);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), '42');
    t.notOk(existsSync(join(dir, 'js')), 'removed on success (--clean onSuccess)');
  },
);

t.test('--clean onError deletes the job store when finish() throws, and says so', async (t) => {
  const dir = scratchDir(t);
  writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
  writeFileSync(join(dir, 'broken'), '');
  const r = await runToil(['run', 'wf.ts', 'file:./js', 'out.txt', '--clean', 'onError'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /the job store file:\.\/js was deleted \(--clean onError\)/);
  t.notOk(existsSync(join(dir, 'js')));
});
