import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

// Mistakes in how a workflow module is written, each reported in one line naming the mistake and
// where in the user's source it is, never as an internal error of toil-ts.

const HEADER = `import { defineJob, defineWorkflow } from 'toil-ts';\n`;

// Each case runs in a directory of its own: they run side by side (the last waits 10 s for a warning).
t.jobs = 3;

t.test(
  "a module whose top level throws or calls process.exit is the workflow's mistake: one line with its place, exit 2, no job store",
  async (t) => {
    const dir = scratchDir(t);
    const cases: [string, string, RegExp][] = [
      [
        'two jobs of one name',
        `${HEADER}const a = defineJob<null, number>('j', () => 1);\nconst b = defineJob<null, number>('j', () => 2);\nexport default defineWorkflow<number>({ start(ctx) { return ctx.root(b, null); } });\n`,
        /^toil: the workflow module failed to load: TypeError: defineJob\('j'\): a job with this name is already defined in this workflow \(each job needs a name of its own: it is how a worker finds the function\) \(at \S*wf\.ts:3:11\)$/m,
      ],
      [
        'a throw at the top level',
        `${HEADER}if (!process.env.NEVER_SET_X) throw new Error('set NEVER_SET_X first');\nconst a = defineJob<null, number>('j', () => 1);\nexport default defineWorkflow<number>({ start(ctx) { return ctx.root(a, null); } });\n`,
        /^toil: the workflow module failed to load: set NEVER_SET_X first \(at \S*wf\.ts:2:\d+\)$/m,
      ],
      [
        // Imported in the leader's own process, it ended toil run with exit 7 and no word said.
        'process.exit at the top level',
        `${HEADER}if (!process.env.NEVER_SET_X) process.exit(7);\nconst a = defineJob<null, number>('j', () => 1);\nexport default defineWorkflow<number>({ start(ctx) { return ctx.root(a, null); } });\n`,
        /^toil: the workflow module failed to load: WorkflowCalledExitError: the workflow module called process\.exit\(7\): .* \(at \S*wf\.ts:2:\d+\)$/m,
      ],
      [
        // A bundle is not type-checked: it said 'TypeError: workflow.start is not a function'.
        'defineWorkflow without a start function',
        `${HEADER}const a = defineJob<null, number>('j', () => 1);\nexport default defineWorkflow({ root: a, input: () => null } as never);\n`,
        /^toil: the workflow module failed to load: TypeError: defineWorkflow: no start function: expected defineWorkflow\(\{ start\(ctx\) \{ \.\.\. \}, finish\?\(ctx, result\) \{ \.\.\. \} \}\), given \{ root, input \} \(at \S*wf\.ts:3:\d+\)$/m,
      ],
      [
        'defineWorkflow with a finish that is not a function',
        `${HEADER}const a = defineJob<null, number>('j', () => 1);\nexport default defineWorkflow<number>({ start(ctx) { return ctx.root(a, null); }, finish: 'done' } as never);\n`,
        /^toil: the workflow module failed to load: TypeError: defineWorkflow: finish is not a function: .*given \{ start, finish \} \(at \S*wf\.ts:3:\d+\)$/m,
      ],
    ];
    for (const [name, source, expected] of cases) {
      writeFileSync(join(dir, 'wf.ts'), source);
      const r = await runToil(['run', 'wf.ts', 'file:./js'], { cwd: dir });
      t.equal(r.code, 2, `${name}: ${r.stderr}`);
      t.match(r.stderr, expected, name);
      t.notMatch(r.stderr, /internal error|\n\s+at /, `${name}: no stack`);
      t.notOk(existsSync(join(dir, 'js')), `${name}: no job store left behind`);
    }
  },
);

t.test(
  'a job defined inside a function is refused where it is added, naming it and what to do',
  async (t) => {
    const dir = scratchDir(t);
    const inJob = `${HEADER}const root = defineJob<null, number>('root', (job) => {
  const inner = defineJob<null, number>('inner', () => 5);
  return job.addChild(inner, null).rv();
});
export default defineWorkflow<number>({ start(ctx) { return ctx.root(root, null); } });
`;
    writeFileSync(join(dir, 'wf.ts'), inJob);
    const r = await runToil(['run', 'wf.ts', 'file:./js', '--disableProgress'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    const expected =
      /job 'inner' is not defined at the top level of the workflow module \(its defineJob ran inside a function, which a worker that loads the module never calls\): move defineJob\('inner', \.\.\.\) to the top level/;
    t.match(
      r.stderr,
      new RegExp(
        `toil: job 'root' \\([-0-9a-f]+\\) failed after 2 attempt\\(s\\): Error: ${expected.source}`,
      ),
    );
    t.match(r.stderr, /\n\s+at .*wf\.ts:4:\d+/, "the place in the user's source");
    t.notMatch(
      r.stderr,
      /already defined|defines no job named/,
      'the retry in the same warm worker says the same',
    );

    const inStart = `${HEADER}export default defineWorkflow<number>({ start(ctx) {
  const inner = defineJob<null, number>('inner', () => 5);
  return ctx.root(inner, null);
} });
`;
    writeFileSync(join(dir, 'wf2.ts'), inStart);
    const s = await runToil(['run', 'wf2.ts', 'file:./js2'], { cwd: dir });
    t.equal(s.code, 2, s.stderr);
    t.match(s.stderr, new RegExp(`^toil: workflow \\S*wf2\\.ts: ${expected.source}$`, 'm'));
    t.notMatch(s.stderr, /damaged/);
    t.notOk(existsSync(join(dir, 'js2')), 'no job store left behind');
  },
);

t.test(
  'a successor added after its job returned (work the job did not await) fails the job naming the call, never lost; --restart with the fix runs it',
  async (t) => {
    const dir = scratchDir(t);
    const leaf = `const leaf = defineJob<string, number>('leaf', async (job, id) => (await job.fileStore.readGlobalFileBytes(id as never)).length);\n`;
    const workflow = (root: string): string =>
      `${HEADER}${leaf}${root}export default defineWorkflow<number>({ start(ctx) { return ctx.root(root, null); }, finish(ctx, n) { ctx.log.info('root returned ' + n); } });\n`;
    // forEach does not wait for its async callbacks: each adds its child once its file is written,
    // after root returned. The children were dropped and the run said `workflow succeeded: 1 job`.
    const notAwaited = `const root = defineJob<null, number>('root', (job) => {
  [1, 2, 3].forEach(async (i) => {
    const id = await job.fileStore.writeGlobalFileBytes('x'.repeat(i));
    job.addChild(leaf, id);
  });
  return 3;
});
`;
    writeFileSync(join(dir, 'wf.ts'), workflow(notAwaited));
    const r = await runToil(['run', 'wf.ts', 'file:./js', '--disableProgress'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /^toil: job 'root' \([-0-9a-f]+\) failed after 2 attempt\(s\): Error: job 'root' called addChild\('leaf'\) after it had returned \(from a callback, or a promise it did not await\), so 'leaf' would never run: its successors are taken when it returns; await what adds them \(items\.forEach\(async \.\.\.\) does not wait: use for\.\.\.of with await, or await Promise\.all\(items\.map\(async \.\.\.\)\)\)$/m,
    );
    t.match(r.stderr, /\n\s+at .*wf\.ts:6:\d+/, "the user's line that added it");
    t.notMatch(r.stderr, /left a callback that threw|jobBuilder|succeeded/, 'said once, as the failure');
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(
      status.stdout,
      /failed:\s+root \([-0-9a-f]+\): Error: job 'root' called addChild\('leaf'\) after it had returned/,
    );

    const awaited = notAwaited
      .replace('(job) => {\n  [1, 2, 3].forEach(', 'async (job) => {\n  await Promise.all([1, 2, 3].map(')
      .replace('  });\n  return 3;', '  }));\n  return 3;');
    writeFileSync(join(dir, 'wf.ts'), workflow(awaited));
    const fixed = await runToil(['run', 'wf.ts', 'file:./js', '--restart', '--disableProgress'], {
      cwd: dir,
    });
    t.equal(fixed.code, 0, fixed.stderr);
    t.match(fixed.stderr, /root returned 3/);
    t.match(fixed.stderr, /workflow succeeded: 4 jobs run/, 'root and its three children');

    // A timer's addition may come after the commit was written: the result stands, and the call is
    // named with its line rather than dropped without a word.
    const timer = `const root = defineJob<null, number>('root', (job) => {
  setTimeout(() => job.addFollowOn(leaf, 'x'), 0);
  return 1;
});
`;
    writeFileSync(join(dir, 'wf2.ts'), workflow(timer));
    const late = await runToil(['run', 'wf2.ts', 'file:./js2', '--disableProgress', '--retryCount', '0'], {
      cwd: dir,
    });
    t.match(
      late.stderr,
      /job 'root' called addFollowOn\('leaf'\) after it had returned \(from a callback, or a promise it did not await\), so 'leaf' would never run[^\n]*(\n\s+)?at [^\n]*wf2\.ts:4:\d+/,
      `named with its line, whether the job failed of it or its result stood (exit ${late.code})`,
    );
  },
);

t.test(
  'a module whose top-level await never settles is said to be still loading, and a Ctrl-C then ends the run in its own words, no stack',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(
      join(dir, 'wf.ts'),
      `${HEADER}await new Promise(() => {});\nconst a = defineJob<null, number>('j', () => 1);\nexport default defineWorkflow<number>({ start(ctx) { return ctx.root(a, null); } });\n`,
    );
    const run = startToil(['run', 'wf.ts', 'file:./js', '--disableProgress'], { cwd: dir });
    let stderr = '';
    run.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor('the still-loading warning', () => /has not finished loading/.test(stderr), 60_000);
    t.match(
      stderr,
      /WARNING\b.*: the workflow module has not finished loading after 10 s: its top level is still running or awaiting something \(an await at the top level of the module, or of a module it imports, that never settles keeps the run here; Ctrl-C stops it\)/,
    );
    run.child.kill('SIGINT');
    const r = await run.done;
    t.equal(r.code, 130, r.stderr);
    // The process's own exit, once the run had said how it ended, read as the module's
    // process.exit(130): a stack of toil-ts's frames under the interrupted line.
    t.match(r.stderr, /^toil: workflow interrupted by SIGINT before its start\(\) returned; /m);
    t.notMatch(r.stderr, /WorkflowCalledExitError|\n\s+at |Node\.js v/, 'no stack');
  },
);
