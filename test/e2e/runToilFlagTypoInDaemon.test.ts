import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { autoscaledRunArgs, startClusterCloud, startEmbeddedLeader } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

/**
 * `toil run … --leader URL` and `toil run … --provisioner aws`: the workflow's start() runs in a
 * leader daemon (another process's, or one in this process). A toil option misspelt by one letter
 * that the workflow took was said by a local run only ("did you mean --stats?"); there nothing was
 * said, and a workflow reading no options ran on with the default. The daemon now records when
 * the arguments are taken, and the run says the same lines then; with --leader a workflow's
 * refusal of one names the option meant, as a local run's and --provisioner aws's do.
 */
t.setTimeout(240_000);

/** Reads no argument: whatever follows the job store, its start() takes. */
const PLAIN = join(REPO_ROOT, 'test/fixtures/workflowDeclaresNothing.ts');
const SORT = join(REPO_ROOT, 'examples/sort.ts');

const typoLine = (flag: string, meant: string): string =>
  `toil: ${flag} is not a toil option, so it went to the workflow, which took it; toil did not act on it (did you mean ${meant}?)`;

const linesOf = (text: string): string[] => text.split('\n');

/** The misspelt options given, each with the one meant. */
const TYPOS = [
  ['--retryCont', '--retryCount'],
  ['--stat', '--stats'],
  ['--clena', '--clean'],
] as const;
const TYPO_ARGS = ['--retryCont', '2', '--stat', '--clena', 'never'];

/** Each typo said once, and no other "did you mean", after `from` and before `to` (lines' starts). */
function saidOnceBetween(t: Test, stderr: string, from: string, to: string): void {
  const lines = linesOf(stderr);
  for (const [flag, meant] of TYPOS)
    t.equal(lines.filter((l) => l === typoLine(flag, meant)).length, 1, `${flag}: ${stderr}`);
  t.equal(lines.filter((l) => l.includes('did you mean')).length, TYPOS.length, 'and nothing else');
  const first = lines.findIndex((l) => l.startsWith(from));
  const said = lines.indexOf(typoLine('--stat', '--stats'));
  const last = lines.findIndex((l) => l.startsWith(to));
  t.ok(first >= 0 && first < said && said < last, `said while it ran: ${stderr}`);
}

const dir = testDir(t, {});
const { base, env } = await startEmbeddedLeader(t, dir);

t.test(
  'a toil option misspelt by one letter that the workflow on the leader takes is said once, after the submission',
  async (t) => {
    const r = await runToil(
      [
        ...['run', PLAIN, 'file:./js', '--leader', base, '--disableProgress', '--defaultDisk', '1M'],
        ...TYPO_ARGS,
      ],
      { cwd: dir, env },
    );
    t.equal(r.code, 0, r.stderr);
    saidOnceBetween(t, r.stderr, 'toil: submitted workflow ', 'toil: workflow succeeded on the leader');
    t.notOk(existsSync(join(dir, 'js')), 'toil did not act on them: --clean onSuccess deleted the store');
  },
);

t.test(
  'a workflow on the leader refusing such an option: its refusal alone names the option meant',
  async (t) => {
    const r = await runToil(
      [
        'run',
        SORT,
        'file:./typo',
        '--leader',
        base,
        '--disableProgress',
        '--numLines',
        '10',
        '--maxNode',
        '3',
      ],
      { cwd: dir, env },
    );
    t.equal(r.code, 2, r.stderr);
    t.match(
      r.stderr,
      /^toil: workflow failed on the leader: .*Unknown option '--maxNode' \(--maxNode is not a toil option; did you mean --maxNodes\?\)$/m,
    );
    t.equal(
      linesOf(r.stderr).filter((l) => l.includes('did you mean')).length,
      1,
      `said once, in the refusal: ${r.stderr}`,
    );
  },
);

t.test(
  'with --provisioner aws, as the leader it starts in this process runs the workflow, the same',
  async (t) => {
    const here = testDir(t, { tmp: {}, work: {} });
    const cloudEnv = { TMPDIR: join(here, 'tmp') };
    const cloud = await startClusterCloud(t, 'typos', { env: cloudEnv });
    const r = await runToil(
      [
        ...autoscaledRunArgs(
          ['test/fixtures/workflowDeclaresNothing.ts', 'file:js'],
          cloud,
          'typos',
          join(here, 'work'),
        ),
        ...['--disableProgress', '--defaultDisk', '1M', ...TYPO_ARGS],
      ],
      { cwd: here, env: { ...cloudEnv, AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: here } },
    );
    t.equal(r.code, 0, r.stderr.slice(-3000));
    saidOnceBetween(t, r.stderr, 'toil: autoscaling typos ', 'toil: workflow succeeded: ');
    t.notOk(existsSync(join(here, 'js')), 'toil did not act on them: --clean onSuccess deleted the store');
  },
);
