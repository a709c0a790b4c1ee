import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

/** Twelve 4-core jobs arriving 30 s apart, half of them preemptable. */
const TRACE = JSON.stringify({
  jobs: Array.from({ length: 12 }, (_, i) => ({
    id: `j${i}`,
    name: 'w',
    arrival: i * 30,
    cores: 4,
    memory: '4G',
    runtime: 900,
    preemptable: i % 2 === 0,
  })),
});

/** The cluster the flags are laid over (JSON is YAML). */
const SCALER = {
  region: 'us-west-2',
  zones: ['us-west-2a'],
  nodeTypes: 'c5.2xlarge:0.3,c5.2xlarge,m5.2xlarge',
  objective: 'cost',
  maxNodes: 4,
  targetTime: '5m',
};
const config = (scaler: Record<string, unknown>): string =>
  JSON.stringify({ scaler, simulation: { seed: 1 } });

interface Result {
  cost: number;
  makespan: number;
  nodesLaunched: number;
  nodeHours: { spot: number; onDemand: number };
}

async function simulated(t: Test, dir: string, args: string[]): Promise<Result> {
  const r = await runToil(['simulate', 'trace.json', '--json', ...args], { cwd: dir });
  t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  const { cost, makespan, nodesLaunched, nodeHours } = JSON.parse(r.stdout) as Result;
  return { cost, makespan, nodesLaunched, nodeHours };
}

t.test(
  "each scaler flag runs the simulation its key in the config's scaler: section runs, over the file's value",
  async (t) => {
    const dir = testDir(t, { 'trace.json': TRACE, 'base.yaml': config(SCALER) });
    const base = await simulated(t, dir, ['--config', 'base.yaml']);
    const rows: [flags: string[], key: Record<string, unknown>][] = [
      [['--maxNodes', '1'], { maxNodes: 1 }],
      [['--objective', 'speed'], { objective: 'speed' }],
      [['--targetTime', '60'], { targetTime: 60 }],
      [['--betaInertia', '0.9'], { betaInertia: 0.9 }],
      [['--nodeTypes', 'm5.2xlarge'], { nodeTypes: 'm5.2xlarge' }],
      [['--minNodes', '2'], { minNodes: [2] }],
      [['--scaleInterval', '300'], { scaleInterval: 300 }],
      [['--idleGrace', '30m'], { idleGrace: '30m' }],
    ];
    for (const [flags, key] of rows) {
      const name = flags.join(' ');
      const file = `${flags[0]!.slice(2)}.yaml`;
      writeFileSync(join(dir, file), config({ ...SCALER, ...key }));
      const byFlag = await simulated(t, dir, ['--config', 'base.yaml', ...flags]);
      t.same(byFlag, await simulated(t, dir, ['--config', file]), `${name}: as the file's key`);
      t.notSame(byFlag, base, `${name}: not the file's own run`);
    }
  },
);

t.test('--compare runs both policies on the settings the flags give', async (t) => {
  const dir = testDir(t, { 'trace.json': TRACE, 'base.yaml': config(SCALER) });
  const compared = async (args: string[]) => {
    const r = await runToil(
      ['simulate', 'trace.json', '--json', '--compare', '--config', 'base.yaml', ...args],
      {
        cwd: dir,
      },
    );
    t.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { cost: Result; toilClassic: Result };
  };
  const wide = await compared([]);
  t.ok(wide.cost.nodesLaunched > 1 && wide.toilClassic.nodesLaunched > 1, 'the file lets each launch more');
  const one = await compared(['--maxNodes', '1', '--nodeTypes', 'm5.2xlarge']);
  t.same([one.cost.nodesLaunched, one.toilClassic.nodesLaunched], [1, 1], 'one node for each policy');
  t.same([one.cost.nodeHours.spot, one.toilClassic.nodeHours.spot], [0, 0], 'on the flag’s node type alone');
});

t.test("a flag's Toil spelling takes the place of the file's other spelling of the key", async (t) => {
  const dir = testDir(t, {
    'trace.json': TRACE,
    'ible.yaml': config({ ...SCALER, preemptibleCompensation: 0.5 }),
    'able.yaml': config({ ...SCALER, preemptableCompensation: 0.2 }),
  });
  t.same(
    await simulated(t, dir, ['--config', 'ible.yaml', '--preemptableCompensation', '0.2']),
    await simulated(t, dir, ['--config', 'able.yaml']),
  );
});

t.test('a scaler flag toil simulate refuses is one line, as toil run says it, exit 2', async (t) => {
  const dir = testDir(t, { 'trace.json': TRACE, 'base.yaml': config(SCALER) });
  const rows: [flags: string[], line: string][] = [
    [['--maxNodes', 'x'], '--maxNodes x: expected a whole number >= 0'],
    [['--betaInertia', '2'], '--betaInertia 2: expected a number from 0 to 0.9'],
    [['--preemptibleCompensation', '3'], '--preemptibleCompensation 3: expected a number from 0 to 1'],
    [
      ['--nodeTypes', 'c5.lage'],
      '--nodeTypes c5.lage: unknown instance type "c5.lage" (did you mean c5.large, c3.large, c4.large?)',
    ],
    [
      ['--nodeTypes', 'c5.large,,m5.large'],
      '--nodeTypes c5.large,,m5.large: node type 2 is empty (expected an instance type between the commas, e.g. c5.large,t2.medium)',
    ],
    [['--objective', 'fast'], '--objective fast: expected one of cost, balanced, speed, got "fast"'],
    [
      ['--objective', 'Speed'],
      '--objective Speed: expected one of cost, balanced, speed, got "Speed" (did you mean speed?)',
    ],
    [
      ['--compare', '--maxPreemptableNodes', '3'],
      '--maxPreemptableNodes 3: --compare runs toil-classic, which does not honour it (Toil has no such limit), so its ratios would compare different limits; remove it to compare the two policies',
    ],
    // Toil 3.x's scaler options, which Toil removed: what to give instead, not "unknown option".
    [
      ['--alphaPacking', '0.8'],
      '--alphaPacking: Toil removed this option when it rewrote its autoscaler: the scaler packs the queued jobs onto nodes itself, with no multiplier; leave it out (for more nodes sooner, lower --targetTime, default 1800 s)',
    ],
    [
      ['--nodeOptions', '--rootVolumeSize 50'],
      '--nodeOptions: Toil removed this option (its AWS provisioner took none); give the worker types with --nodeTypes (e.g. --nodeTypes c5.large) and their root volume with --nodeStorage GiB',
    ],
    [
      ['--compare', '--preemptableNodeOptions', 'x'],
      '--preemptableNodeOptions: Toil removed this option (its AWS provisioner took none); give spot worker types with their bid in --nodeTypes (e.g. --nodeTypes c5.large:0.05) and their root volume with --nodeStorage GiB',
    ],
  ];
  for (const [flags, line] of rows) {
    const r = await runToil(['simulate', 'trace.json', '--config', 'base.yaml', ...flags], { cwd: dir });
    t.equal(r.code, 2, flags.join(' '));
    t.equal(r.stderr, `toil: ${line}\n`, flags.join(' '));
  }
});

t.test('toil simulate --help lists the scaler flags and --objective with the names it takes', async (t) => {
  const r = await runToil(['simulate', '--help']);
  t.equal(r.code, 0);
  for (const flag of [
    '--nodeTypes <spec>',
    '--maxNodes <n>',
    '--minNodes <n>',
    '--targetTime <seconds>',
    '--betaInertia <b>',
    '--preemptableCompensation <fraction>',
    '--nodeStorage <GiB>',
  ])
    t.match(r.stdout, `\n  ${flag} `, flag);
  t.match(r.stdout, /\n {2}--objective <name> +the cost policy's objective: cost, balanced, speed/);
});
