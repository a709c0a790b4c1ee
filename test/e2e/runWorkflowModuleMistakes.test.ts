import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// Mistakes in how a workflow module is written, each reported in one line naming the mistake and
// where in the user's source it is, never as an internal error of toil-ts.

const HEADER = `import { defineJob, defineWorkflow } from 'toil-ts';\n`;

t.test(
  "a module whose top level throws is the workflow's mistake: one line with its place, exit 2, no job store",
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
