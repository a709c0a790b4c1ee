import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../fixtures/waitFor.js';
import { REPO_ROOT, runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

interface Message {
  time: string;
  event: string;
  jobId: string;
  name: string;
  attempt?: number;
  exitCode?: number;
  message?: string;
}

const treeArgs = (dir: string, ...more: string[]): string[] => [
  ...['run', TREE, 'file:./js', '--n', '2', '--out', join(dir, 'o'), '--log', join(dir, 'exec.log')],
  ...more,
];

function messages(dir: string, file = 'messages.jsonl'): Message[] {
  return readFileSync(join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Message);
}

/** Each job's events in order, as "event attempt", by the job's name and id. */
function byJob(ms: readonly Message[]): Map<string, string[]> {
  const jobs = new Map<string, string[]>();
  for (const m of ms) {
    const key = `${m.name} ${m.jobId}`;
    jobs.set(key, [...(jobs.get(key) ?? []), `${m.event} ${m.attempt ?? '-'}`]);
  }
  return jobs;
}

t.test(
  "--writeMessages FILE: every job's attempts issued and ended, a failed attempt and its retry, one JSON line each in time order",
  async (t) => {
    const dir = scratchDir(t);
    // A stale file from an earlier run is emptied first, as Toil's is.
    writeFileSync(join(dir, 'messages.jsonl'), 'stale\n');
    const r = await runToil(
      treeArgs(
        dir,
        '--fail',
        'add',
        '--failTimes',
        '1',
        '--retryCount',
        '1',
        '--writeMessages',
        'messages.jsonl',
      ),
      { cwd: dir },
    );
    t.equal(r.code, 0, r.stderr);
    const ms = messages(dir);
    const jobs = [...byJob(ms)].map(([key, events]) => `${key.split(' ')[0]}: ${events.join(', ')}`).sort();
    t.same(jobs, [
      'add: issued 1, failed 1, issued 2, completed 2',
      'tree: issued 1, completed 1',
      'tree: issued 1, completed 1',
      'tree: issued 1, completed 1',
    ]);
    const failed = ms.find((m) => m.event === 'failed');
    t.equal(failed?.exitCode, 1, "the failed attempt's exit code");
    const times = ms.map((m) => Date.parse(m.time));
    t.ok(
      times.every((x, i) => Number.isFinite(x) && (i === 0 || x >= times[i - 1]!)),
      'ISO times, in the order written',
    );
    t.match(ms[0], { event: 'issued', name: 'tree', attempt: 1, jobId: /^[0-9a-f-]{36}$/ }, 'the root first');
  },
);

t.test('--writeMessages: a job that fails for good ends with gaveUp and its error', async (t) => {
  const dir = scratchDir(t);
  const r = await runToil(
    treeArgs(dir, '--fail', 'add', '--failTimes', '9', '--retryCount', '1', '--writeMessages', 'm.jsonl'),
    { cwd: dir },
  );
  t.equal(r.code, 1, r.stderr);
  const add = messages(dir, 'm.jsonl').filter((m) => m.name === 'add');
  t.same(
    add.map((m) => `${m.event} ${m.attempt}`),
    ['issued 1', 'failed 1', 'issued 2', 'failed 2', 'gaveUp 2'],
  );
  t.match(add.at(-1)?.message, /add was told to fail/);
});

t.test("--writeMessages: a run stopped by SIGINT writes its running job's kill", async (t) => {
  const dir = scratchDir(t);
  const { child, done } = startToil(treeArgs(dir, '--sleepMs', '60000', '--writeMessages', 'm.jsonl'), {
    cwd: dir,
  });
  await waitFor('the root job started', () => existsSync(join(dir, 'exec.log')), 60_000);
  child.kill('SIGINT');
  const r = await done;
  t.equal(r.code, 130, r.stderr);
  t.same(
    messages(dir, 'm.jsonl').map((m) => `${m.event} ${m.name} ${m.attempt}`),
    ['issued tree 1', 'killed tree 1'],
  );
});

t.test(
  '--writeMessages into a directory that does not exist is refused naming the flag (exit 2)',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(treeArgs(dir, '--writeMessages', 'no/such/dir/m.jsonl'), { cwd: dir });
    t.equal(r.code, 2, r.stderr);
    t.match(
      r.stderr,
      /^toil: --writeMessages no\/such\/dir\/m\.jsonl: cannot be opened for writing \(ENOENT\)$/m,
    );
    t.notOk(existsSync(join(dir, 'js')), 'no job store was made');
  },
);

t.test(
  '--writeMessages with --leader is refused: the daemon sees the events, not this process',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(treeArgs(dir, '--writeMessages', 'm.jsonl', '--leader', 'http://127.0.0.1:9'), {
      cwd: dir,
    });
    t.equal(r.code, 2, r.stderr);
    t.match(r.stderr, /^toil: --writeMessages: with --leader the leader's process sees the jobs' events/m);
    t.notOk(existsSync(join(dir, 'm.jsonl')));
  },
);
