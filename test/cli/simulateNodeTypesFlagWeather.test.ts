import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { yaml } from '../../src/common/yaml.js';
import { testDir } from '../fixtures/testDir.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { runToil } from '../fixtures/workflowCli.js';

/** Eight 2-core jobs, a minute apart: a c5.large holds one. */
const TRACE = JSON.stringify({
  jobs: Array.from({ length: 8 }, (_, i) => ({
    id: `j${i}`,
    name: 'w',
    arrival: i * 60,
    cores: 2,
    memory: '2Gi',
    runtime: 600,
  })),
});

const SCALER = { region: 'us-west-2', zones: ['us-west-2a'], maxNodes: 4 };
/** The first hour refuses c5.large, which the run keeps; the rest is weather of c5.2xlarge alone. */
const KEPT = { instanceType: 'c5.large', until: '1h' };
const WEATHER = {
  seed: 1,
  capacityRefusals: [KEPT, { instanceType: 'c5.2xlarge', until: '2h' }],
  spotPrices: { 'c5.2xlarge/us-west-2a': 0.1 },
};

async function simulated(t: Test, dir: string, args: string[]): Promise<{ json: unknown; stderr: string }> {
  const r = await runToil(['simulate', 'trace.json', '--json', ...args], { cwd: dir });
  t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return { json: r.code === 0 ? (JSON.parse(r.stdout) as unknown) : undefined, stderr: r.stderr };
}

// Node types given by flags replaced the config's, and its weather for the types they dropped was
// refused as naming types the cluster has not: the shipped cluster's refusal of c5.2xlarge made
// `toil simulate --nodeTypes c5.large trace.json` fail. That weather is left out, and said.
t.test("--nodeTypes leaves out the config's weather for the types the run does not use", async (t) => {
  const dir = testDir(t, {
    'trace.json': TRACE,
    'both.yaml': JSON.stringify({
      scaler: { ...SCALER, nodeTypes: 'c5.2xlarge,c5.large' },
      simulation: WEATHER,
    }),
    'kept.yaml': JSON.stringify({
      scaler: { ...SCALER, nodeTypes: 'c5.large' },
      simulation: { seed: 1, capacityRefusals: [KEPT] },
    }),
    'calm.yaml': JSON.stringify({ scaler: { ...SCALER, nodeTypes: 'c5.large' }, simulation: { seed: 1 } }),
    'typo.yaml': JSON.stringify({
      scaler: { ...SCALER, nodeTypes: 'c5.2xlarge,c5.large' },
      simulation: { ...WEATHER, capacityRefusals: [KEPT, { instanceType: 'c5.2xlarg', until: '2h' }] },
    }),
  });
  const byFlag = await simulated(t, dir, ['--config', 'both.yaml', '--nodeTypes', 'c5.large']);
  t.equal(
    byFlag.stderr,
    "toil simulate: the node types are the flags', so both.yaml's 1 capacity refusal and 1 spot price for c5.2xlarge, which the run does not use, are left out\n",
  );
  const kept = await simulated(t, dir, ['--config', 'kept.yaml']);
  t.same(byFlag.json, kept.json, "the run of a config holding the flag's type and its weather alone");
  t.equal(kept.stderr, '', 'a config whose weather names its own types: nothing left out, nothing said');
  const calm = await simulated(t, dir, ['--config', 'calm.yaml']);
  t.notSame(
    byFlag.json,
    calm.json,
    "the weather of the type run is kept: it differs from calm weather's run",
  );
  t.ok(
    ((byFlag.json as { launchRefusals?: number } | undefined)?.launchRefusals ?? 0) > 0,
    'its refusals refused launches',
  );

  const typo = await runToil(['simulate', 'trace.json', '--config', 'typo.yaml', '--nodeTypes', 'c5.large'], {
    cwd: dir,
  });
  t.equal(typo.code, 2, 'a type no catalogue lists is still refused, as a typo');
  // The weather may name any type of the catalogue's (its own, dropped by the flag, among them):
  // the typo's suggestion is looked for there, not among the run's c5.large alone.
  t.match(
    typo.stderr,
    /^ {2}- simulation\.capacityRefusals\[1\]\.instanceType: c5\.2xlarg is no instance type of the catalogue's \(the node types are the flags', so the weather may name any of its \d+ instance types\); did you mean c5\.2xlarge\?$/m,
  );
});

t.test(
  'toil simulate --nodeTypes runs on the shipped cluster without its weather for other types',
  async (t) => {
    const shipped = yaml().parse(readFileSync(repoPath('bench/traces/cluster.yaml'), 'utf8')) as {
      scaler: Record<string, unknown>;
      simulation: { capacityRefusals: { instanceType?: string }[] };
    };
    t.ok(
      shipped.simulation.capacityRefusals.some((r) => r.instanceType === 'c5.2xlarge'),
      'the shipped weather names c5.2xlarge',
    );
    const dir = testDir(t, {
      'trace.json': TRACE,
      'expected.yaml': JSON.stringify({
        scaler: { ...shipped.scaler, nodeTypes: 'c5.large', maxNodes: 4 },
        simulation: {
          ...shipped.simulation,
          capacityRefusals: shipped.simulation.capacityRefusals.filter(
            (r) => r.instanceType !== 'c5.2xlarge',
          ),
        },
      }),
    });
    const r = await simulated(t, dir, ['--nodeTypes', 'c5.large', '--maxNodes', '4']);
    t.equal(
      r.stderr,
      // What the run uses: the flags' type and maxNodes, not the file's seven types and 10.
      'toil simulate: no --config: simulating the shipped bench/traces/cluster.yaml with --nodeTypes, --maxNodes over its scaler: section (1 node type, c5.large (on-demand), maxNodes 4); give --config FILE for yours\n' +
        "toil simulate: the node types are the flags', so the shipped bench/traces/cluster.yaml's 1 capacity refusal for c5.2xlarge, which the run does not use, is left out\n",
    );
    t.same(
      r.json,
      (await simulated(t, dir, ['--config', 'expected.yaml'])).json,
      'the shipped cluster, its type swapped',
    );

    const compared = await runToil(['simulate', 'trace.json', '--compare', '--nodeTypes', 'c5.large'], {
      cwd: dir,
    });
    t.equal(compared.code, 0, compared.stderr);
    t.equal(compared.stderr.match(/left out/g)?.length, 1, '--compare says it once, for both runs');

    const help = await runToil(['simulate', '--help'], { cwd: dir });
    t.match(
      help.stdout.replace(/\s+/g, ' '),
      "--nodeTypes, --nodeType and --preemptableNodeType replace the config's node types: its capacity refusals and spot prices for types the run does not use are left out (said on stderr)",
    );
  },
);
