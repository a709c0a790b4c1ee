import t from 'tap';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseScalerFlags, scalerSectionFromFlags } from '../../src/cli/scalerFlags.js';
import type { AutoscalingFlags } from '../../src/cli/runAutoscaledOptions.js';
import { parseNodeTypes } from '../../src/provisioner/cluster/validate.js';
import { decimalNumber } from '../../src/common/units.js';

/**
 * Bids and the scaler's numeric flags are decimal numbers, as Toil's float() reads them: Number()
 * had taken `c5.large:0x10` as a $16/h bid and `0b1` as $1, which Toil refuses.
 */
const catalogue = await readCatalogue();
const parse = (f: AutoscalingFlags) => parseScalerFlags(scalerSectionFromFlags(f, 'us-west-2a'), catalogue);

t.test('decimal numbers, as Python float() reads them', async (t) => {
  const rows: [text: string, want: number | undefined][] = [
    ['0.05', 0.05],
    ['.5', 0.5],
    ['2', 2],
    [' 1e-2 ', 0.01],
    ['-1', -1],
    ['0x10', undefined],
    ['0b1', undefined],
    ['0o7', undefined],
    ['', undefined],
    [' ', undefined],
    ['Infinity', undefined],
    ['1,5', undefined],
  ];
  for (const [text, want] of rows) {
    const got = decimalNumber(text);
    if (want === undefined) t.ok(Number.isNaN(got), `${JSON.stringify(text)} is no number`);
    else t.equal(got, want, `${JSON.stringify(text)} is ${want}`);
  }
});

t.test('a hex or binary bid is refused by toil run --nodeTypes, naming the bid', async (t) => {
  for (const bid of ['0x10', '0b1']) {
    t.throws(
      () => parse({ nodeTypes: `c5.large:${bid}` }),
      { code: 'BAD_FLAG', message: new RegExp(`has a bid that is not a number: "${bid}"`) },
      `c5.large:${bid}`,
    );
  }
  t.equal(parse({ nodeTypes: 'c5.large:0.05' }).nodeTypes[0]!.bid, 0.05, 'a decimal bid is kept');
});

t.test('a hex or binary bid is refused by launch-cluster --nodeTypes, naming the bid', async (t) => {
  for (const bid of ['0x10', '0b1']) {
    t.throws(
      () => parseNodeTypes(`c5.large:${bid}`, '--nodeTypes'),
      {
        code: 'BAD_NODE_TYPES',
        message: `--nodeTypes: spot bid '${bid}' of c5.large is not a positive price`,
      },
      `c5.large:${bid}`,
    );
  }
  t.same(parseNodeTypes('c5.large:1e-1', '--nodeTypes'), [
    { instanceType: 'c5.large', market: 'spot', bid: 0.1 },
  ]);
});

t.test('numeric scaler flags refuse hex and name the flag', async (t) => {
  t.throws(() => parse({ nodeTypes: 'c5.large', preemptableCompensation: '0x1' }), {
    code: 'BAD_FLAG',
    message: '--preemptableCompensation 0x1: expected a number',
  });
  t.equal(parse({ nodeTypes: 'c5.large', betaInertia: '0.5' }).betaInertia, 0.5);
});

t.test('an empty entry in a --maxNodes list is named with the list as typed', async (t) => {
  t.throws(() => parse({ nodeTypes: 'c5.large,m5.large,r5.large', maxNodes: '2,,3' }), {
    code: 'BAD_FLAG',
    message:
      '--maxNodes 2,,3: entry 2 is empty; expected one whole number >= 0, or one per node type separated by commas (e.g. 4,2)',
  });
  t.same(
    parse({ nodeTypes: 'c5.large,m5.large', maxNodes: '2,3' }).nodeTypes.map((n) => n.maxNodes),
    [2, 3],
  );
});
