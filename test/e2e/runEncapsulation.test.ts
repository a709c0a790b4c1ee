import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

t.setTimeout(120_000);

// Toil's tutorial_encapsulation2.py: A with a child and a follow-on, encapsulated; B added to the
// encapsulation runs after A and all of A's successors. Here A also adds a slow child while it
// runs (a successor no edge declared before A ran), and B takes the encapsulation's rv() (A's).
const TUTORIAL = `
import { appendFileSync, writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const r = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const note = (what: string) => appendFileSync('exec.log', what + '\\n');
const step = defineJob<{ name: string; sleepMs?: number }, string>('step', r, async (_job, { name, sleepMs }) => {
  await new Promise((res) => setTimeout(res, sleepMs ?? 0));
  note(name);
  return name;
});
const a = defineJob<null, string>('A', r, (job) => {
  note('A');
  job.addChild(step, { name: 'A-added-child', sleepMs: 600 });
  return 'value of A';
});
const b = defineJob<string, string>('B', r, (_job, fromA) => {
  note('B got ' + fromA);
  return 'B';
});
export default defineWorkflow<string>({
  start(ctx) {
    const A = ctx.root(a, null);
    A.addChild(step, { name: 'A-child' });
    A.addFollowOn(step, { name: 'A-follow-on', sleepMs: 300 });
    const encapsulated = A.encapsulate();
    encapsulated.addChild(b, encapsulated.rv());
    return encapsulated;
  },
  finish(_ctx, result) { writeFileSync('result.txt', result); },
});
`;

t.test(
  "Toil's encapsulation tutorial: B added to A.encapsulate() runs after A and all its successors, with A's value",
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'enc.ts'), TUTORIAL);
    const r = await runToil(['run', 'enc.ts', 'file:./js', '--clean', 'never'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const lines = readFileSync(join(dir, 'exec.log'), 'utf8').trim().split('\n');
    t.equal(lines.length, 5, 'each job once');
    t.equal(lines[0], 'A');
    t.same(lines.slice(1, 4).sort(), ['A-added-child', 'A-child', 'A-follow-on']);
    t.equal(lines[4], 'B got value of A', "B last, after A's slow successors, given A's value");
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'value of A', "the encapsulation's value is A's");
    const s = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(s.stdout, /7 completed of 7 declared/, 'the encapsulation adds two jobs that run nothing');
  },
);
