import t from 'tap';
import { ConfigError } from '../../src/common/configErrors.js';
import { UserInputError } from '../../src/common/errors.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseScalerFlags, scalerSectionFromFlags } from '../../src/cli/scalerFlags.js';
import type { AutoscalingFlags } from '../../src/cli/runAutoscaledOptions.js';

/**
 * Toil's `--preemptableNodeType` takes `--nodeTypes`' syntax, every entry spot: a bid that is no
 * number was refused as `scaler.nodeTypes: expected node types as Toil's --nodeTypes string …`, a
 * config path nobody typed, and a bid of 0 or an empty type in zod's words; both are said as
 * `--nodeTypes` says them, naming the flag.
 */
const catalogue = await readCatalogue();
const parse = (f: AutoscalingFlags) => parseScalerFlags(scalerSectionFromFlags(f, 'us-west-2a'), catalogue);

t.test('--preemptableNodeType entries are spot node types with their bids', async (t) => {
  const types = parse({ preemptableNodeType: 'c5.large:0.04,m5.large/m5a.large' }).nodeTypes;
  t.same(
    types.map((n) => ({ names: n.instanceTypes.map((i) => i.name), capacity: n.capacityType, bid: n.bid })),
    [
      { names: ['c5.large'], capacity: 'spot', bid: 0.04 },
      { names: ['m5.large', 'm5a.large'], capacity: 'spot', bid: undefined },
    ],
  );
  t.same(
    parse({ preemptibleNodeType: 'c5.large:0.05' }).nodeTypes.map((n) => ({
      capacity: n.capacityType,
      bid: n.bid,
    })),
    [{ capacity: 'spot', bid: 0.05 }],
    "Toil's preemptible spelling",
  );
});

t.test('a bad --preemptableNodeType is named by the flag, in --nodeTypes words', async (t) => {
  const rows: [string, string][] = [
    [
      'c5.large:abc',
      '--preemptableNodeType c5.large:abc: node type 1 ("c5.large:abc") has a bid that is not a number: "abc"',
    ],
    [
      'c5.large:0',
      '--preemptableNodeType c5.large:0: node type 1 ("c5.large:0") has a bid of 0: a bid is the most a spot node may cost per hour, in dollars (e.g. c5.large:0.05)',
    ],
    ['c5.large:-1', '--preemptableNodeType c5.large:-1: node type 1 ("c5.large:-1") has a negative bid'],
    [':0.1', '--preemptableNodeType :0.1: node type 1 (":0.1") has an empty instance type'],
    ['c5.large,:0.1', '--preemptableNodeType c5.large,:0.1: node type 2 (":0.1") has an empty instance type'],
  ];
  for (const [value, message] of rows) {
    const err = t.throws(() => parse({ preemptableNodeType: value })) as Error;
    t.ok(err instanceof UserInputError && !(err instanceof ConfigError), `${value}: one line, a user error`);
    t.equal(err.message, message, value);
  }
});
