import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

t.setTimeout(180_000);

const CHECKPOINT = repoPath('test/fixtures/workflowCheckpoint.ts');
const REFUSED = repoPath('test/fixtures/workflowCheckpointRefused.ts');
const execLog = (dir: string): string[] => readFileSync(join(dir, 'exec.log'), 'utf8').trim().split('\n');
const commits = (dir: string): number => readdirSync(join(dir, 'js', 'objects', 'commits%')).length;

t.test(
  "Toil's checkpoint: a successor fails for good, the checkpoint's successors are dropped and it runs again to define new ones, which succeed",
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', CHECKPOINT, 'file:./js', '--failingRuns', '1', '--clean', 'never'], {
      cwd: dir,
    });
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stderr,
      /job 'flaky' below checkpoint job 'ck' failed for good; running 'ck' again to add its successors anew/,
    );
    const lines = execLog(dir);
    t.same(lines.slice(0, 2), ['top 1', 'ck 1']);
    t.same(
      lines.slice(2, 5).sort(),
      ['flaky 1', 'flaky 1', 'steady 1'],
      'the first definition: flaky tried twice',
    );
    t.same(
      lines.slice(5),
      ['ck 2', 'good started 2', 'good 2', 'report definition 2'],
      'then ck once more, its new child, and the follow-on with the second value',
    );
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'definition 2');
    t.equal(commits(dir), 4, "top, ck, good and report: the first definition's commits are gone");
    const s = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(s.stdout, /4 completed of 4 declared/);
    t.match(s.stdout, /state:\s+finished/);
    t.notMatch(s.stdout, /failed for good/, 'the dropped flaky is not reported as failed');
  },
);

t.test(
  'a checkpoint whose every definition fails exhausts its own retries: the workflow fails naming it',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', CHECKPOINT, 'file:./js', '--failingRuns', '9'], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.equal(execLog(dir).filter((l) => l.startsWith('ck ')).length, 2, 'ck ran twice (--retryCount 1)');
    t.match(
      r.stderr,
      /toil: job 'ck' \([0-9a-f-]+\) failed after 2 attempt\(s\): checkpoint job 'ck' has no retries left to run again after job 'flaky' below it failed for good/,
    );
    t.match(
      r.stderr,
      /workflow failed: 2 job\(s\) failed for good/,
      "ck and its second definition's flaky, not the first's",
    );
    t.notOk(existsSync(join(dir, 'result.txt')));
  },
);

t.test('a checkpoint job given a successor where it is added is refused in one line', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', REFUSED, 'file:./js'], { cwd: dir });
  t.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, r.stderr);
  t.match(
    lines[0],
    /^toil: .*addChild: job 'ck' is a checkpoint job, which may have no successors when it is added .*add 'after' from inside 'ck'/,
  );
});

t.test(
  'kill -9 of the leader after a checkpoint reran, then --restart: the second definition goes on, nothing of the first runs again',
  async (t) => {
    const dir = scratchDir(t);
    const args = ['--failingRuns', '1', '--holdFile', 'go', '--clean', 'never'];
    const first = startToil(['run', CHECKPOINT, 'file:./js', ...args], { cwd: dir });
    t.teardown(() => first.child.kill('SIGKILL'));
    await waitFor(
      'the second definition to start',
      () => existsSync(join(dir, 'exec.log')) && execLog(dir).includes('good started 2'),
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.done;
    writeFileSync(join(dir, 'go'), '');
    const r = await runToil(['run', CHECKPOINT, 'file:./js', ...args, '--restart'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const lines = execLog(dir);
    t.equal(
      lines.filter((l) => l.startsWith('ck ')).length,
      2,
      'ck ran twice in all, not again after the restart',
    );
    t.equal(lines.filter((l) => l.startsWith('flaky ')).length, 2, 'the first definition did not run again');
    t.same(
      lines.slice(-3),
      ['good started 2', 'good 2', 'report definition 2'],
      'good ran again (killed with the leader)',
    );
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'definition 2');
    const s = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(s.stdout, /state:\s+finished/);
    t.notMatch(s.stdout, /failed for good/);
  },
);

t.test(
  'nested checkpoints: the inner one out of retries fails for good and the outer one runs again, defining a new inner one, which succeeds',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', CHECKPOINT, 'file:./js', '--nested', '--failingRuns', '2'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /job 'ck' below checkpoint job 'outer' failed for good; running 'outer' again/);
    t.same(
      execLog(dir).filter((l) => /^(outer|ck|report) /.test(l)),
      ['outer 1', 'ck 1', 'ck 2', 'outer 2', 'ck 3', 'report definition 3'],
    );
  },
);

t.test('nested checkpoints both out of retries: the workflow fails naming each', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(['run', CHECKPOINT, 'file:./js', '--nested', '--failingRuns', '9'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /workflow failed: 3 job\(s\) failed for good/);
  t.match(
    r.stderr,
    /toil: job 'outer' \([0-9a-f-]+\) failed after 2 attempt\(s\): checkpoint job 'outer' has no retries left to run again after job 'ck' below it failed for good/,
  );
  t.equal(execLog(dir).filter((l) => l.startsWith('ck ')).length, 4, 'two inner runs under each outer run');
});
