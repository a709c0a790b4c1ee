import t from 'tap';
import { UserInputError } from '../../src/common/errors.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';
import { parseScalerFlags, scalerSectionFromFlags } from '../../src/cli/scalerFlags.js';
import type { AutoscalingFlags } from '../../src/cli/runAutoscaledOptions.js';

/**
 * Toil's older autoscaling form is `--nodeType`, `--preemptableNodeType`, `--maxPreemptableNodes`
 * and `--minPreemptableNodes`; the last was passed on to the workflow, whose parser refused it
 * (with a hint to --maxPreemptableNodes, a flag of another meaning) once the leader had started.
 * It is the spot node type's minimum.
 */
const catalogue = await readCatalogue();
const bounds = (f: AutoscalingFlags) =>
  parseScalerFlags(scalerSectionFromFlags(f, 'us-west-2a'), catalogue).nodeTypes.map((n) => ({
    label: n.label,
    capacity: n.capacityType,
    min: n.minNodes,
  }));

t.test("--minPreemptableNodes is the spot node type's minimum", async (t) => {
  t.same(
    bounds({
      nodeType: 'c5.large',
      preemptableNodeType: 'c5.large:0.05',
      minPreemptableNodes: '2',
      minNodes: '1',
    }),
    [
      { label: 'c5.large', capacity: 'on-demand', min: 1 },
      { label: 'c5.large:0.05', capacity: 'spot', min: 2 },
    ],
    "Toil's older form: --minNodes the on-demand type's, --minPreemptableNodes the spot type's",
  );
  t.same(
    bounds({ nodeTypes: 'm5.large,c5.large/c5a.large:0.04', minPreemptibleNodes: '1' }),
    [
      { label: 'm5.large', capacity: 'on-demand', min: 0 },
      { label: 'c5.large/c5a.large:0.04', capacity: 'spot', min: 1 },
    ],
    'the -ible spelling, and the spot type given by its bid in --nodeTypes',
  );
});

t.test('--minPreemptableNodes without one spot node type is refused in one line naming it', async (t) => {
  const rows: [AutoscalingFlags, string][] = [
    [
      { nodeTypes: 'c5.large,m5.large', minPreemptableNodes: '1' },
      '--minPreemptableNodes 1: no spot node type to keep nodes of; expected one with a bid in --nodeTypes (e.g. c5.large:0.05) or --preemptableNodeType',
    ],
    [
      { nodeTypes: 'c5.large:0.05,m5.large:0.06', minPreemptableNodes: '1' },
      '--minPreemptableNodes 1: 2 spot node types (--nodeTypes c5.large:0.05, --nodeTypes m5.large:0.06); give each its minimum in --minNodes instead, one number per node type in their order',
    ],
    [
      { preemptableNodeType: 'c5.large:0.05', minPreemptableNodes: 'two' },
      '--minPreemptableNodes two: expected a whole number >= 0',
    ],
    [
      { preemptableNodeType: 'c5.large:0.05', minPreemptableNodes: '3', maxNodes: '2' },
      '--preemptableNodeType c5.large:0.05 (--minPreemptableNodes 3): minNodes 3 is more than maxNodes 2 for node type c5.large:0.05',
    ],
  ];
  for (const [flags, message] of rows) {
    const err = t.throws(() => bounds(flags)) as Error;
    t.ok(err instanceof UserInputError, `${message.slice(0, 40)}: a user error`);
    t.equal(err.message, message);
  }
});

t.test("toil run takes --minPreemptableNodes as its own, never the workflow's", async (t) => {
  const dir = testDir(t);
  const r = await runToil(
    [
      'run',
      repoPath('examples/fanout.ts'),
      'file:./js',
      ...['--jobs', '2', '--nodeType', 'c5.large', '--preemptableNodeType', 'c5.large:0.05'],
      ...['--minPreemptableNodes', '1'],
    ],
    { cwd: dir },
  );
  t.equal(r.code, 0, r.stderr);
  t.match(
    r.stderr,
    /^toil: --nodeType, --preemptableNodeType, --minPreemptableNodes take effect only with --provisioner aws; this run scales nothing/m,
  );
});
