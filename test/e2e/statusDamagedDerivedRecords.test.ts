import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openObjectStore } from '../../src/main/jobStores.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

/** A run of the tree workflow summing 0..n-1 into out.txt, kept in `locator`. */
function treeRun(locator: string, n: number): string[] {
  return [
    'run',
    TREE,
    locator,
    '--n',
    String(n),
    '--out',
    'out.txt',
    '--log',
    'exec.log',
    '--disableProgress',
  ];
}

/** The damaged lines of a `toil status` report, by key: `  KEY: REASON[; REMEDY]`. */
function damagedLines(stdout: string): Map<string, string> {
  const lines = new Map<string, string>();
  const block = stdout.split('\n').slice(stdout.split('\n').findIndex((l) => l.startsWith('damaged:')) + 1);
  for (const line of block) {
    const m = /^ {2}(\S+): (.*)$/.exec(line);
    if (m) lines.set(m[1]!, m[2]!);
  }
  return lines;
}

// `toil status` told the user to restore every damaged object "or 'toil clean' and run the
// workflow again", also for the records the next leader writes anyway (the run's outcome, a
// job's ticket) and for those only one command reads (a failed attempt's log, the ticket of a
// job that ran): a user who took the advice threw the workflow's progress away. Each of those
// now says what becomes of it, the summary counts only what must be restored, and a --restart
// runs on such a store and writes the records again.
t.test(
  'toil status says a damaged outcome, ticket or failure log needs no restore, and a --restart finishes the workflow and rewrites them',
  async (t) => {
    const dir = scratchDir(t);
    const locator = `file:${join(dir, 'js')}`;
    const run = treeRun(locator, 4);
    const args = [...run, '--fail', 'add', '--failTimes', '1', '--retryCount', '0'];
    const failed = await runToil(args, { cwd: dir });
    t.equal(failed.code, 1, 'one add fails for good');

    const store = openObjectStore(locator, {});
    const keys: string[] = [];
    for await (const info of store.list('')) keys.push(info.key);
    const log = keys.find((k) => k.startsWith('logs/'))!;
    const failedJob = log.split('/')[1]!;
    const ranJob = keys.find((k) => k.startsWith('commits/'))!.slice('commits/'.length);
    t.ok(log && ranJob, `a failure log and a commit are there: ${keys.join(' ')}`);
    // Written through the store: the length and SHA-256 are intact, the body is no record.
    for (const key of ['outcome.json', log, `jobs/${failedJob}`, `jobs/${ranJob}`])
      await store.put(key, 'not json');

    const status = await runToil(['status', locator], { cwd: dir });
    t.equal(status.code, 1, 'exit 1: damaged objects');
    t.match(
      status.stdout,
      /^damaged: +4 object\(s\), none to restore \(each line says what becomes of it\)$/m,
    );
    t.notMatch(status.stdout, /toil clean/, 'cleaning the store is not suggested');
    const lines = damagedLines(status.stdout);
    t.match(
      lines.get('outcome.json'),
      /; nothing to restore: .*the next run \('toil run WORKFLOW JOBSTORE --restart'\) writes it again$/,
    );
    t.match(
      lines.get(`jobs/${failedJob}`),
      /; nothing to restore: the leader writes it again each time it issues the job$/,
    );
    t.match(
      lines.get(`jobs/${ranJob}`),
      /; nothing to restore for the workflow: its job ran; only 'toil debug-job' of that job reads it/,
    );
    t.match(lines.get(log), /; nothing to restore for the workflow: it is the log of one failed attempt/);

    const restarted = await runToil([...run, '--restart', '--clean', 'never'], {
      cwd: dir,
    });
    t.equal(restarted.code, 0, `the --restart runs the failed job again and finishes: ${restarted.stderr}`);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), '6\n', 'the sum of 0..3');

    const after = await runToil(['status', locator], { cwd: dir });
    const left = damagedLines(after.stdout);
    t.same(
      [...left.keys()].sort(),
      [log, `jobs/${ranJob}`].sort(),
      'the outcome and the reissued ticket were written again',
    );
    t.match(after.stdout, /^damaged: +2 object\(s\), none to restore/m);
    t.match(after.stdout, /^state: +finished$/m);

    // A commit is what nothing else holds: it is counted as the one to restore.
    const commit = keys.find((k) => k.startsWith('commits/'))!;
    await store.put(commit, 'not json');
    const mixed = await runToil(['status', locator], { cwd: dir });
    t.match(
      mixed.stdout,
      /^damaged: +3 object\(s\), 1 to restore \(restore them, or 'toil clean' and run the workflow again; each other line says what becomes of it\)$/m,
    );
    t.notMatch(damagedLines(mixed.stdout).get(commit), /nothing to restore/, 'the commit is to restore');
  },
);

t.test(
  'toil status --json gives each damaged record that needs no restore its remedy and none to the workflow record, and a --restart runs on the first',
  async (t) => {
    const dir = scratchDir(t);
    const locator = `file:${join(dir, 'js')}`;
    const run = treeRun(locator, 2);
    const ran = await runToil([...run, '--clean', 'never'], { cwd: dir });
    t.equal(ran.code, 0, ran.stderr);
    const store = openObjectStore(locator, {});
    const workflow = (await store.get('workflow.json'))!.body;
    for (const key of ['running.json', 'mesos-framework.json', 'slurm.json', 'workflow.json'])
      await store.put(key, 'not json');
    const status = await runToil(['status', locator, '--json'], { cwd: dir });
    t.equal(status.code, 1);
    const damaged = (JSON.parse(status.stdout) as { damaged: { key: string; remedy?: string }[] }).damaged;
    const remedies = Object.fromEntries(damaged.map((d) => [d.key, d.remedy]));
    t.same(Object.keys(remedies).sort(), [
      'mesos-framework.json',
      'running.json',
      'slurm.json',
      'workflow.json',
    ]);
    t.match(
      remedies['running.json'],
      /^nothing to restore: .*a leader running the workflow writes it again$/,
    );
    t.match(
      remedies['mesos-framework.json'],
      /^nothing to restore: the next leader writes it again; until then 'toil clean' and 'toil kill --force' cannot cancel/,
    );
    t.equal(remedies['slurm.json'], remedies['mesos-framework.json']);
    t.equal(remedies['workflow.json'], undefined, 'the workflow record must be restored');

    const refused = await runToil([...run, '--restart'], { cwd: dir });
    t.equal(refused.code, 2, 'a --restart refuses the damaged workflow record');
    await store.put('workflow.json', workflow);
    const human = await runToil(['status', locator], { cwd: dir });
    t.match(human.stdout, /^damaged: +3 object\(s\), none to restore /m);
    const restarted = await runToil([...run, '--restart'], { cwd: dir });
    t.equal(restarted.code, 0, `the --restart runs on the records it writes again: ${restarted.stderr}`);
    t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), '1\n', 'the sum of 0..1');
  },
);
