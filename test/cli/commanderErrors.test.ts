import t from 'tap';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * commander's own parse errors were its words (`error: unknown option '--maxNodes'` and a usage
 * line), unlike every other bad input; they are one `toil <command>: …` line naming the input and
 * what was expected, exit 2, and an option of another sub-command says whose it is (Toil's
 * autoscaling flags are `toil run`'s, not `launch-cluster`'s).
 */
const cases: [string[], string][] = [
  [
    ['launch-cluster', 'c1', '--maxNodes', '2'],
    'toil launch-cluster: unknown option --maxNodes: it is an option of toil run and toil simulate, not of toil launch-cluster',
  ],
  [
    ['leader', '--port', '9'],
    'toil leader: --config <file> is required: the leader config (YAML), e.g. config/leader.yaml',
  ],
  [
    ['run', 'wf.ts', 'js', '--retryCount'],
    'toil run: --retryCount <n> needs a value: times a failed job is tried again',
  ],
  [
    ['run', 'wf.ts'],
    'toil run: missing jobStore: where the workflow keeps its state: file:PATH, a bare path, or aws:REGION:NAME; usage: toil run [options] <workflow> <jobStore> [workflowArgs...]',
  ],
  [
    ['config', 'check'],
    'toil config check: missing file: the config file, e.g. config/leader.yaml; usage: toil config check [options] <file>',
  ],
  [['rnu'], 'toil: unknown command rnu: did you mean run? toil --help lists the commands'],
  [
    ['leader', '--config', 'x.yaml', '--prot', '9'],
    'toil leader: unknown option --prot: did you mean --port?',
  ],
  [['status', 'js', '--bogus'], 'toil status: unknown option --bogus: toil status --help lists its options'],
  [
    ['run', 'wf.ts', 'js', '--logLevel', 'LOUD'],
    'toil run: --logLevel LOUD: expected one of critical, error, warning, warn, info, debug, trace, off, silent (in lower case, Capitalised or UPPER CASE)',
  ],
  // Toil's argparse takes these three spellings of a level, and no other.
  [
    ['run', 'wf.ts', 'js', '--logLevel', 'dEBUG'],
    'toil run: --logLevel dEBUG: expected one of critical, error, warning, warn, info, debug, trace, off, silent (in lower case, Capitalised or UPPER CASE)',
  ],
];

t.test("commander's parse errors are one toil line naming the input and what was expected", async (t) => {
  const dir = testDir(t);
  for (const [args, line] of cases) {
    const r = await runToil(args, { cwd: dir });
    t.equal(r.code, 2, `toil ${args.join(' ')}: exit 2, bad input`);
    t.equal(r.stderr, `${line}\n`, `toil ${args.join(' ')}`);
    t.equal(r.stdout, '');
  }
});
