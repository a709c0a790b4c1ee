import t from 'tap';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseScalerFlags, scalerSectionFromFlags } from '../../src/cli/scalerFlags.js';
import type { AutoscalingFlags } from '../../src/cli/runAutoscaledOptions.js';

/**
 * Toil pads --minNodes with 0 (and --maxNodes with its first value): `--nodeTypes
 * c5.large:0.05,c5.large --minNodes 1` keeps one spot node up, not one of each type. A single
 * --minNodes read as every type's minimum kept an on-demand c5.large running for the whole run,
 * idle, that Toil never launches.
 */
const catalogue = await readCatalogue();
const bounds = (f: AutoscalingFlags) =>
  parseScalerFlags(scalerSectionFromFlags(f, 'us-west-2a'), catalogue).nodeTypes.map((n) => ({
    label: n.label,
    min: n.minNodes,
    max: n.maxNodes,
  }));

t.test('a single --minNodes is the first node type minimum; the others get 0, as in Toil', async (t) => {
  t.same(bounds({ nodeTypes: 'c5.large:0.05,c5.large', minNodes: '1', maxNodes: '4' }), [
    { label: 'c5.large:0.05', min: 1, max: 4 },
    { label: 'c5.large', min: 0, max: 4 },
  ]);
  t.same(
    bounds({ nodeType: 'c5.large', preemptableNodeType: 'c5.large:0.05', minNodes: '2' }),
    [
      { label: 'c5.large', min: 2, max: 10 },
      { label: 'c5.large:0.05', min: 0, max: 10 },
    ],
    "Toil's older form: --minNodes is the on-demand --nodeType's",
  );
  t.same(
    bounds({ nodeTypes: 'm5.large,c5.large:0.04,t2.medium', minNodes: '1,2', maxNodes: '3,4' }),
    [
      { label: 'm5.large', min: 1, max: 3 },
      { label: 'c5.large:0.04', min: 2, max: 4 },
      { label: 't2.medium', min: 0, max: 3 },
    ],
    'a shorter list is padded the same way (max with its first, min with 0)',
  );
  t.same(bounds({ nodeTypes: 'c5.large', minNodes: '3', maxNodes: '4' }), [
    { label: 'c5.large', min: 3, max: 4 },
  ]);
});

t.test('a single --minNodes above the first type --maxNodes is still named by the flag', async (t) => {
  t.throws(() => bounds({ nodeTypes: 'c5.large:0.05,c5.large', minNodes: '5', maxNodes: '2' }), {
    message: '--minNodes 5: minNodes 5 is more than maxNodes 2 for node type c5.large:0.05',
  });
});
