import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

// Toil's tutorial_multiplejobs3.py: j4 is j2's child, then also j3's (`j3.addChild(j4)`), so it
// runs after both. j3 is slow, so a j4 released by j2 alone would log before j3.
const TUTORIAL = `
import { defineJob, defineWorkflow } from 'toil-ts';
const r = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const helloWorld = defineJob<{ message: string; sleepMs?: number }, void>('helloWorld', r, async (job, { message, sleepMs }) => {
  await new Promise((res) => setTimeout(res, sleepMs ?? 0));
  job.log.info(\`Hello world, I have a message: \${message}\`);
});
export default defineWorkflow({
  start(ctx) {
    const j1 = ctx.root(helloWorld, { message: 'first' });
    const j2 = j1.addChild(helloWorld, { message: 'second or third (j2)' });
    const j3 = j1.addChild(helloWorld, { message: 'second or third (j3)', sleepMs: 700 });
    const j4 = j2.addChild(helloWorld, { message: 'last' });
    j3.addChild(j4);
    return j1;
  },
});
`;

// A diamond built by a running job: 'join' takes both predecessors' values. Every job appends
// "start|end NAME ID ATTEMPT" to exec.log; 'right' fails while fail-right exists, 'join' sleeps on
// its first attempt while slow-join exists (so a test can kill the leader with it running).
const DIAMOND = `
import { appendFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { defineJob, defineWorkflow } from 'toil-ts';
const r = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const dir = process.env.DAG_DIR!;
const note = (kind: string, name: string, id: string, attempt: number) =>
  appendFileSync(dir + '/exec.log', [kind, name, id, attempt].join(' ') + '\\n');
const value = defineJob<{ name: string; n: number }, number>('value', r, async (job, { name, n }) => {
  note('start', name, job.jobId, job.attempt);
  if (name === 'right' && existsSync(dir + '/fail-right')) throw new Error('right is broken');
  note('end', name, job.jobId, job.attempt);
  return n;
});
const join = defineJob<number[], number>('join', r, async (job, xs) => {
  note('start', 'join', job.jobId, job.attempt);
  if (existsSync(dir + '/slow-join')) { rmSync(dir + '/slow-join'); await new Promise((res) => setTimeout(res, 60_000)); }
  note('end', 'join', job.jobId, job.attempt);
  return xs[0]! * 100 + xs[1]!;
});
const top = defineJob<string, number>('top', r, (job, how) => {
  note('start', 'top', job.jobId, job.attempt);
  const left = job.addChild(value, { name: 'left', n: 4 });
  const right = job.addChild(value, { name: 'right', n: 2 });
  const j = left.addChild(join, [left.rv(), right.rv()]);
  if (how === 'cycle') j.addChild(left);
  else right.addChild(j);
  return j.rv();
});
export default defineWorkflow<number>({
  start(ctx) { return ctx.root(top, ctx.args[0] ?? 'diamond'); },
  finish(_ctx, v) { writeFileSync(dir + '/result.txt', String(v)); },
});
`;

function executions(dir: string): string[] {
  return readFileSync(join(dir, 'exec.log'), 'utf8').trim().split('\n');
}

t.test(
  "Toil's tutorial DAG (j3.addChild(j4)) runs j4 once, after j2 and j3; status draws both edges",
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'mj3.ts'), TUTORIAL);
    const r = await runToil(['run', 'mj3.ts', 'file:./js', '--logLevel', 'INFO', '--clean', 'never'], {
      cwd: dir,
    });
    t.equal(r.code, 0, r.stderr);
    const said = [
      ...r.stderr.matchAll(/Hello world, I have a message: (.*) \(job=helloWorld jobId=(\S+)\)/g),
    ].map((m) => m[1]);
    t.equal(said.length, 4, 'each job ran once');
    t.equal(said[0], 'first');
    t.same(said.slice(1, 3).sort(), ['second or third (j2)', 'second or third (j3)']);
    t.equal(said[3], 'last', 'j4 after both of its predecessors, the slow one too');
    const ids = new Map(
      [...r.stderr.matchAll(/I have a message: (.*) \(job=helloWorld jobId=(\S+)\)/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    const dot = await runToil(['status', 'file:./js', '--printDot'], { cwd: dir });
    t.equal(dot.code, 0, dot.stderr);
    const last = ids.get('last')!;
    for (const from of ['second or third (j2)', 'second or third (j3)'])
      t.match(dot.stdout, `"${ids.get(from)!}" -> "${last}" [label="child"];`, `the edge ${from} -> last`);
    const kids = await runToil(['status', 'file:./js', '--printChildren'], { cwd: dir });
    t.equal(
      kids.stdout.split(`(CHILD_JOB:${last},PRECEDENCE:1)`).length - 1,
      2,
      '--printChildren lists j4 under both',
    );
    t.match(kids.stdout, /4 completed of 4 declared/);
  },
);

t.test('a diamond: the join takes both predecessors’ promises and runs once, after both', async (t) => {
  const dir = scratchDir(t);
  writeFileSync(join(dir, 'diamond.ts'), DIAMOND);
  const env = { DAG_DIR: dir };
  const r = await runToil(['run', 'diamond.ts', 'file:./js'], { cwd: dir, env });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), '402', "join got left's 4 and right's 2");
  const lines = executions(dir).map((l) => l.split(' ').slice(0, 2).join(' '));
  t.equal(lines.filter((l) => l === 'start join').length, 1, 'the join ran once');
  const joinAt = lines.indexOf('start join');
  t.ok(joinAt > lines.indexOf('end left') && joinAt > lines.indexOf('end right'), 'after both predecessors');
});

t.test(
  'an edge that closes a cycle fails the job that adds it, naming both jobs and what to do',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'diamond.ts'), DIAMOND);
    const r = await runToil(['run', 'diamond.ts', 'file:./js', 'cycle', '--retryCount', '0'], {
      cwd: dir,
      env: { DAG_DIR: dir },
    });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /addChild: making job 'value' a child of 'join' would close a cycle \('value' → 'join' → 'value'\), so none of them could ever start \(Toil refuses this graph too\): 'value' already runs before 'join'; add a new job after 'join' instead of reusing 'value'/,
    );
    t.same(executions(dir), [executions(dir)[0]], 'only the job that added the edge ran');
    t.match(executions(dir)[0], /^start top /);
  },
);

t.test(
  'kill -9 of the leader after both predecessors committed, then --restart: the join runs to its end once; a failed predecessor fixed and resumed releases it once',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'diamond.ts'), DIAMOND);
    const env = { DAG_DIR: dir };
    const args = ['run', 'diamond.ts', 'file:./js', '--retryCount', '0'];
    // First: 'right' fails for good; the join never starts.
    writeFileSync(join(dir, 'fail-right'), '');
    const failed = await runToil(args, { cwd: dir, env });
    t.equal(failed.code, 1, failed.stderr);
    t.notOk(
      executions(dir).some((l) => l.startsWith('start join')),
      'the join waits for its failed predecessor',
    );
    // Fixed and resumed; the leader is killed while the join (issued once both committed) has
    // not committed, so the store holds both predecessors' commits and none of the join's.
    rmSync(join(dir, 'fail-right'));
    writeFileSync(join(dir, 'slow-join'), '');
    const second = startToil([...args, '--restart'], { cwd: dir, env });
    await waitFor('the join started', () => executions(dir).some((l) => l.startsWith('start join')), 60_000);
    second.child.kill('SIGKILL');
    t.equal((await second.done).signal, 'SIGKILL', 'the leader was killed');
    const third = await runToil([...args, '--restart'], { cwd: dir, env });
    t.equal(third.code, 0, third.stderr);
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), '402');
    const lines = executions(dir).map((l) => l.split(' ').slice(0, 2).join(' '));
    t.equal(lines.filter((l) => l === 'start top').length, 1, 'the root ran once in all');
    t.equal(lines.filter((l) => l === 'end left').length, 1, 'the committed predecessor ran once in all');
    t.equal(lines.filter((l) => l === 'end right').length, 1, 'the fixed predecessor ran once more, once');
    t.equal(lines.filter((l) => l === 'start join').length, 2, 'the join: its killed attempt and one more');
    t.equal(lines.filter((l) => l === 'end join').length, 1, 'the join ran to its end once');
  },
);
