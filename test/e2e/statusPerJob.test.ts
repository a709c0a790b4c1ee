import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { POLL, SERVICES } from '../fixtures/servicesRun.js';
import { failedTree, treeJobs } from '../fixtures/failedTree.js';
import { REPO_ROOT, runToil, scratchDir, startLongJob, startToil } from '../fixtures/workflowCli.js';

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
const GATED = join(REPO_ROOT, 'test/fixtures/workflowGatedChildren.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

const ID = '[0-9a-f-]{36}';
const FLAGS = '(?:\\t(?:COMPLETED|COMPLETELY_FAILED|READY_TO_RUN|WAITING|HAS_SERVICES|IS_SERVICE))+';
const PER_JOB = new RegExp(
  `^JOB:'(\\w+)' (${ID})(${FLAGS})(\\tLOG_FILE:logs/${ID}/\\d+)?(\\tCHILD_NUMBER:\\d+)?$`,
);

/**
 * `--perJob` lines parsed strictly: job id → the rest of its line (name, then its fields). A line
 * that is not one fails a check of `t` and is left out, so the checks after it still run.
 */
function parsePerJob(t: Test, text: string): Map<string, string> {
  const jobs = new Map<string, string>();
  for (const line of text.replace(/\n$/, '').split('\n')) {
    const m = PER_JOB.exec(line);
    if (!m || jobs.has(m[2]!)) {
      t.fail(`${m ? 'a job listed twice' : 'not a --perJob line'}: ${JSON.stringify(line)}`);
      continue;
    }
    jobs.set(m[2]!, `${m[1]}${line.slice(`JOB:'${m[1]}' ${m[2]}`.length)}`);
  }
  return jobs;
}

t.test(
  "toil status --perJob prints Toil's line per job (state, log file, successors) and --jobs restricts every per-job report, failed part way and then finished",
  async (t) => {
    const dir = scratchDir(t);
    const store = { locator: 'file:./js', options: { cwd: dir, env: {} } };
    // The root tree has children tree, tree and a follow-on add; each of those trees two leaf
    // trees and an add. The first add to run fails for good, so the root's add is never released.
    await failedTree(t, store.locator, store.options);
    const { root: rootId, failed: failedAdd } = await treeJobs(t, store);

    const r = await runToil(['status', 'file:./js', '--perJob', '--noAggStats'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '', 'no refusal, no notice: --perJob is implemented');
    const perJob = parsePerJob(t, r.stdout);
    t.equal(perJob.size, 10, 'a line for every job declared so far');
    t.equal(perJob.get(rootId), 'tree\tCOMPLETED\tCHILD_NUMBER:3', 'the root ran and has three successors');
    t.equal(
      perJob.get(failedAdd),
      `add\tCOMPLETELY_FAILED\tLOG_FILE:logs/${failedAdd}/1`,
      'the add that failed is COMPLETELY_FAILED, with its log file (the one --printLogs prints)',
    );
    t.same(
      [...perJob.values()].map((l) => l.split('\t').slice(0, 2).join(' ')).sort(),
      ['add COMPLETED', 'add COMPLETELY_FAILED', 'add WAITING', ...Array<string>(7).fill('tree COMPLETED')],
      "each job's state: the root's add waits for the failed subtree",
    );
    const alias = await runToil(['status', 'file:./js', '--printPerJobStats', '--noAggStats'], { cwd: dir });
    t.same([alias.code, alias.stdout], [0, r.stdout], "Toil's --printPerJobStats prints the same");
    const withSummary = await runToil(['status', 'file:./js', '--perJob'], { cwd: dir });
    t.match(
      withSummary.stdout,
      /^JOB:'tree' [^]*\njob store: +file:\.\/js\n[^]*^state: +failed/m,
      'then the summary',
    );

    const named = await runToil(['status', 'file:./js', '--jobs', failedAdd, rootId], { cwd: dir });
    t.equal(named.code, 0, named.stderr);
    const [lines = '', summary = ''] = named.stdout.split(/(?=^job store:)/m);
    t.same(
      [...parsePerJob(t, lines).keys()],
      [failedAdd, rootId],
      '--jobs alone: the per-job lines of the jobs named, in that order',
    );
    t.match(summary, /^jobs: +8 completed of 10 declared so far/m, "the summary stays the workflow's");

    const children = await runToil(
      [
        'status',
        'file:./js',
        '--printChildren',
        '--printFailed',
        '--printLogs',
        '--noAggStats',
        '--jobs',
        rootId,
      ],
      { cwd: dir },
    );
    t.equal(children.code, 0, children.stderr);
    const [noLogs, childrenLine, noFailed, ...rest] = children.stdout.split('\n');
    t.equal(noLogs, 'no failed attempt of the jobs --jobs names has a log in the job store', '--printLogs');
    t.match(
      childrenLine,
      new RegExp(`^CHILDREN_OF_JOB:'tree' ${rootId} (\\t\\(CHILD_JOB:${ID},PRECEDENCE:[01]\\)){3}$`),
      '--printChildren: the line of the job named',
    );
    t.equal(noFailed, 'Failed jobs: none', '--printFailed: none of the jobs named failed');
    t.same(rest, [''], 'nothing else: no other job, and no --perJob line unasked');
    const logs = await runToil(
      ['status', 'file:./js', '--logs', '--failed', '--noAggStats', '--jobs', failedAdd],
      {
        cwd: dir,
      },
    );
    t.match(logs.stdout, new RegExp(`^=== log of job add \\(${failedAdd}\\), attempt 1 ===$`, 'm'));
    t.match(
      logs.stdout,
      new RegExp(`^Failed jobs:\\nadd \\(${failedAdd}\\): Error: add was told to fail$`, 'm'),
    );
    const dot = await runToil(['status', 'file:./js', '--dot', '--noAggStats', '--jobs', rootId, failedAdd], {
      cwd: dir,
    });
    t.equal(
      dot.stdout.split('\n').filter((l) => / \[label="[^"]*" color=/.test(l)).length,
      2,
      '--printDot: the subgraph of the jobs named',
    );

    const json = await runToil(['status', 'file:./js', '--json', '--perJob', '--jobs', failedAdd], {
      cwd: dir,
    });
    t.equal(json.code, 0, json.stderr);
    // A refusal prints no JSON: the checks after this one still run.
    const report = JSON.parse(json.stdout || '{"graph":[]}') as {
      graph: { id: string; state: string; logFile?: string }[];
    };
    t.same(
      report.graph,
      [{ ...report.graph[0], id: failedAdd, state: 'failed', logFile: `logs/${failedAdd}/1` }],
      '--json: the job named, with its log file',
    );

    const unknown = await runToil(['status', 'file:./js', '--perJob', '--jobs', rootId, 'nope'], {
      cwd: dir,
    });
    t.same(
      [unknown.code, unknown.stderr, unknown.stdout],
      [
        2,
        'toil: --jobs nope: no job has that id in job store file:./js (toil status --perJob lists the ids of its jobs)\n',
        '',
      ],
      'an id the store does not have: exit 2, one line naming it, and no report',
    );
    const name = await runToil(['status', 'file:./js', '--jobs', 'add'], { cwd: dir });
    t.match(
      `exit ${name.code}: ${name.stderr}`,
      new RegExp(
        `^exit 2: toil: --jobs add: no job has that id in job store file:\\./js; it is a job name, and --jobs takes ids: ${ID}, ${ID}, ${ID}\\n$`,
      ),
      'a job name for an id: said so, with its ids',
    );

    const finished = await runToil(
      [
        'run',
        TREE,
        'file:./js',
        ...['--n', '4', '--out', 'out.txt', '--log', 'exec.log'],
        '--restart',
        '--clean',
        'never',
      ],
      { cwd: dir },
    );
    t.equal(finished.code, 0, finished.stderr);
    const done = await runToil(['status', 'file:./js', '--perJob', '--noAggStats'], { cwd: dir });
    const doneJobs = parsePerJob(t, done.stdout);
    t.same(
      [...doneJobs.values()].map((l) => l.split('\t')[1]),
      Array<string>(10).fill('COMPLETED'),
      'after --restart every job is COMPLETED',
    );
    t.equal(
      doneJobs.get(failedAdd),
      `add\tCOMPLETED\tLOG_FILE:logs/${failedAdd}/1`,
      'the add that failed once keeps the log of that attempt',
    );
  },
);

t.test('toil status --perJob flags a service and the job that starts it, as Toil does', async (t) => {
  const dir = scratchDir(t);
  const run = await runToil(['run', SERVICES, 'file:./js', '--mode', 'sub', '--clean', 'never', ...POLL], {
    cwd: dir,
  });
  t.equal(run.code, 0, run.stderr);
  const r = await runToil(['status', 'file:./js', '--perJob', '--noAggStats'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.same(
    [...parsePerJob(t, r.stdout).values()].sort(),
    [
      'db\tCOMPLETED\tHAS_SERVICES\tIS_SERVICE',
      'dbWorker\tCOMPLETED\tIS_SERVICE',
      'host\tCOMPLETED\tHAS_SERVICES\tCHILD_NUMBER:1',
      'use\tCOMPLETED',
    ],
    'HAS_SERVICES on the host and on the service with a sub-service, IS_SERVICE on both services',
  );
});

t.test('toil status --perJob says READY_TO_RUN of the job a stopped leader was running', async (t) => {
  const dir = scratchDir(t);
  const running = await startLongJob(t, dir);
  const kill = await runToil(['kill', 'file:./js', '--wait', '60'], { cwd: dir });
  t.equal(kill.code, 0, kill.stderr);
  await running.done;
  const r = await runToil(['status', 'file:./js', '--perJob', '--noAggStats'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^JOB:'tree' ${ID}\\tREADY_TO_RUN\\n$`), 'the job it ran is to run again');
});

t.test(
  'toil status --printStatus --jobs lists only the running jobs named, under the counts of all',
  async (t) => {
    const dir = scratchDir(t);
    // Two leaves, each running until the test's go.
    const running = startToil(['run', GATED, 'file:./js', dir, '2', '--clean', 'never'], { cwd: dir });
    t.teardown(() => void running.child.kill('SIGKILL'));
    const runningIds = async (): Promise<string[]> => {
      const json = await runToil(['status', 'file:./js', '--printStatus', '--json'], { cwd: dir });
      // Before the leader has made the store there is no report.
      if (json.code !== 0) return [];
      const r = (JSON.parse(json.stdout) as { running?: { jobs: { jobId: string; state: string }[] } })
        .running;
      return (r?.jobs ?? []).filter((j) => j.state === 'running').map((j) => j.jobId);
    };
    let ids = await runningIds();
    for (let i = 0; i < 240 && ids.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 250));
      ids = await runningIds();
    }
    t.equal(ids.length, 2, 'both leaves run');
    const [one = '', other = ''] = ids;
    const r = await runToil(['status', 'file:./js', '--printStatus', '--noAggStats', '--jobs', one], {
      cwd: dir,
    });
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stdout,
      /runs the workflow; as of \S+ ago: 2 job\(s\) running, /,
      "the counts stay the workflow's",
    );
    t.match(
      r.stdout,
      new RegExp(`^Job ID ${one} with name leaf is running on single_machine `, 'm'),
      'the leaf named',
    );
    t.equal(r.stdout.split('\n').length, 3, 'nothing but the head and that line: no --perJob line unasked');
    t.notMatch(r.stdout, new RegExp(other), 'not the other');
    writeFileSync(join(dir, 'go'), '');
    const done = await running.done;
    t.equal(done.code, 0, done.stderr);
  },
);
