import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// Toil's recursive pattern (its docs' binaryStrings): each step returns its follow-on's promise,
// so the workflow's result is at the end of a chain of promises as long as the workflow is deep.
const CHAIN = `
import { writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const step = defineJob<{ i: number; n: number }, number>('step', { cores: 0.1, memory: '32Mi', disk: '1Mi' },
  (job, { i, n }) => (i >= n ? i : job.addFollowOn(step, { i: i + 1, n }).rv()));
export default defineWorkflow<number>({
  start(ctx) { return ctx.root(step, { i: 0, n: Number(ctx.args[0]) }); },
  finish(ctx, r) { writeFileSync('result.txt', String(r)); },
});
`;

// The root promises an element its child's value does not have.
const BAD_PATH = `
import { defineJob, defineWorkflow } from 'toil-ts';
const five = defineJob<null, number>('five', { cores: 0.1, memory: '32Mi', disk: '1Mi' }, () => 5);
const root = defineJob<null, unknown>('root', { cores: 0.1, memory: '32Mi', disk: '1Mi' },
  (job) => job.addChild(five, null).rv('total', 'count'));
export default defineWorkflow<unknown>({ start(ctx) { return ctx.root(root, null); } });
`;

t.test("a chain of 1,500 follow-ons each returning the next one's promise gives its result", async (t) => {
  const dir = scratchDir(t);
  writeFileSync(join(dir, 'chain.ts'), CHAIN);
  const r = await runToil(
    ['run', 'chain.ts', 'file:./js', '1500', '--disableProgress', '--logLevel', 'warning'],
    {
      cwd: dir,
    },
  );
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /too deep|internal error|at resolvePromises/);
  t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), '1500');
});

// A job's input promises an element its producer's value does not have.
const BAD_INPUT = `
import { defineJob, defineWorkflow } from 'toil-ts';
const SMALL = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const five = defineJob<null, number>('five', SMALL, () => 5);
const use = defineJob<number, number>('use', SMALL, (_job, n) => n);
const root = defineJob<null, number>('root', SMALL, (job) =>
  job.addFollowOn(use, job.addChild(five, null).rv('count') as never).rv());
export default defineWorkflow<number>({ start(ctx) { return ctx.root(root, null); } });
`;

t.test(
  'a job input that cannot be built from a committed value: the run does not advise --restart, which would build it the same way',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'badinput.ts'), BAD_INPUT);
    const r = await runToil(['run', 'badinput.ts', 'file:./js', '--disableProgress'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /toil: job 'use' \([-0-9a-f]+\) failed after 1 attempt\(s\): promised value of job 'five' \([-0-9a-f]+\) has no element "count"/,
      'the job whose value lacks the element is named, not only numbered',
    );
    t.match(r.stderr, /but --restart cannot help: what failed \(a job's input, or the workflow's result\)/);
    t.notMatch(r.stderr, /fix the cause and run again with --restart/);
    // And indeed: a restart fails the same way.
    const again = await runToil(['run', 'badinput.ts', 'file:./js', '--restart', '--disableProgress'], {
      cwd: dir,
    });
    t.equal(again.code, 1);
    t.match(again.stderr, /has no element "count"/);
  },
);

t.test(
  'a workflow result that cannot be made fails the run in one message, not a crash of the leader',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'badpath.ts'), BAD_PATH);
    const r = await runToil(['run', 'badpath.ts', 'file:./js', '--disableProgress'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /toil: job 'root' \([-0-9a-f]+\) failed after 1 attempt\(s\): the workflow's result cannot be made: promised value of job 'five' \([-0-9a-f]+\) has no element "total"/,
    );
    t.notMatch(r.stderr, /internal error|Node\.js v|at resolvePromises/);
    // Every job's value is committed: a restart would build the same result and fail the same way.
    t.match(
      r.stderr,
      /toil: the job store file:\.\/js is kept, but --restart cannot help: what failed \(a job's input, or the workflow's result\) is built from values jobs already committed, which a restart does not change; fix the workflow \(what a job returns, or the promise's path\) and run it anew \(toil clean file:\.\/js first, or another job store\)\n/,
    );
    t.notMatch(r.stderr, /fix the cause and run again with --restart/);
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(
      status.stdout,
      /failed: 1 job\(s\) failed for good \(a job's input or the workflow's result cannot be built from values jobs committed, which --restart does not change: fix the workflow, 'toil clean JOBSTORE' and run it anew\)/,
    );
  },
);

// A promise passed to a sibling: 'b' could run before or after 'slow', so its input would be
// there or not by timing. `ARG` says how 'b' is added: as a sibling child, or as the follow-on
// the message advises.
const SIBLING = `
import { writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const r = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const slow = defineJob<null, number>('slow', r, async () => { await new Promise((res) => setTimeout(res, 200)); return 41; });
const b = defineJob<number, number>('b', r, (_job, n) => n + 1);
const root = defineJob<string, number>('root', r, (job, how) => {
  const a = job.addChild(slow, null);
  return (how === 'followOn' ? job.addFollowOn(b, a.rv()) : job.addChild(b, a.rv())).rv();
});
export default defineWorkflow<number>({
  start(ctx) { return ctx.root(root, ctx.args[0]!); },
  finish(ctx, n) { writeFileSync('result.txt', String(n)); },
});
`;

t.test(
  'a promise given to a job that may start before its producer is refused where it is added, naming both; as the advised follow-on it works',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'sibling.ts'), SIBLING);
    const r = await runToil(['run', 'sibling.ts', 'file:./js', 'child', '--retryCount', '0'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /job 'root' \([-0-9a-f]+\) failed after 1 attempt\(s\): Error: job 'b' is given the value of job 'slow' \(its rv\(\)\), but may start before 'slow' has finished, so the value would be there or not by timing: add 'b' as a follow-on of the job that added 'slow'/,
    );
    t.notMatch(r.stderr, /has not run yet/);
    const ok = await runToil(['run', 'sibling.ts', 'file:./js2', 'followOn'], { cwd: dir });
    t.equal(ok.code, 0, ok.stderr);
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), '42');
  },
);
