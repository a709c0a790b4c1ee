import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runComparison, runSimulation } from '../../src/cli/simulate.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

/**
 * Two six-hour aligns and a joint call under them that asks for more than any node type of the
 * cluster below has: it is only queued once both aligns end, six simulated hours in.
 */
const TRACE = JSON.stringify({
  jobs: [
    { id: 'a0', name: 'align', cores: 2, memory: '4Gi', runtime: '6h', preemptable: true },
    { id: 'a1', name: 'align', cores: 2, memory: '4Gi', runtime: '6h', preemptable: true },
    {
      id: 'joint',
      name: 'joint',
      cores: 16,
      memory: '64Gi',
      disk: '10Gi',
      runtime: '2h',
      dependsOn: ['a0', 'a1'],
    },
  ],
});

const CLUSTER = JSON.stringify({
  scaler: { region: 'us-west-2', nodeTypes: 'c5.xlarge:0.08,r5.2xlarge', maxNodes: 4 },
  simulation: { zones: ['us-west-2a'], seed: 1 },
});

/** The one line toil simulate says, its exit code and its stdout. */
async function refused(t: Test, dir: string, args: string[]): Promise<string> {
  const r = await runToil(['simulate', ...args], { cwd: dir });
  t.equal(r.code, 2, `${args.join(' ')}: exit 2 (${r.stderr})`);
  t.equal(r.stdout, '', 'no report: nothing was simulated');
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `one line: ${r.stderr}`);
  return lines[0] ?? '';
}

t.test(
  'a trace with a job no node type can run is refused before it runs, naming the job and each failing constraint',
  async (t) => {
    const dir = testDir(t, { 'trace.json': TRACE, 'cluster.yaml': CLUSTER });
    const joint =
      "toil: trace trace.json: job 'joint' (joint) asks for 16 cores, 64.0 GiB memory, 10.0 GiB disk, not preemptable; " +
      'no configured node type can run it (largest: r5.2xlarge, 8 cores, 58.3 GiB memory, 42.8 GiB disk after overhead): ' +
      'memory: asks 64.0 GiB, r5.2xlarge offers 58.3 GiB after overhead; cores: asks 16, the most any node type offers is 8, ' +
      'so the run could never finish; give scaler.nodeTypes in cluster.yaml a type that fits, or ask less of the job in the trace';
    // It used to run the aligns for six simulated hours, then stop with 'joint' never run (exit 1).
    t.equal(await refused(t, dir, ['trace.json', '--config', 'cluster.yaml']), joint);
    t.equal(await refused(t, dir, ['trace.json', '--config', 'cluster.yaml', '--compare', '--json']), joint);
    t.equal(
      await refused(t, dir, ['trace.json', '--config', 'cluster.yaml', '--policy', 'toil-classic']),
      joint,
    );
    await t.rejects(runSimulation(join(dir, 'trace.json'), join(dir, 'cluster.yaml')), {
      code: 'WORKFLOW_WOULD_HANG',
      details: { jobs: ['joint'], constraints: [/^memory: /, /^cores: asks 16/] },
    });
    await t.rejects(runComparison(join(dir, 'trace.json'), join(dir, 'cluster.yaml')), {
      code: 'WORKFLOW_WOULD_HANG',
    });
  },
);

t.test(
  'node types from flags are named as the flag, and every other job name that cannot run is counted',
  async (t) => {
    const dir = testDir(t, { 'trace.json': TRACE, 'cluster.yaml': CLUSTER });
    const line = await refused(t, dir, ['trace.json', '--config', 'cluster.yaml', '--nodeTypes', 'c5.large']);
    t.match(
      line,
      /^toil: trace trace\.json: job 'align' \(a0 and 1 like it\) asks for 2 cores, 4\.0 GiB memory, 0 B disk, preemptable; .*memory: asks 4\.0 GiB, c5\.large offers \d\.\d GiB after overhead/,
    );
    t.match(
      line,
      /, so the run could never finish; 1 other job name cannot run either: 'joint' \(1 job\); give --nodeTypes a type that fits, or ask less of the job in the trace$/,
    );
  },
);

t.test(
  'non-preemptable work on a cluster of spot types only is refused with the spot constraint',
  async (t) => {
    const dir = testDir(t, {
      'trace.json': JSON.stringify({
        jobs: [{ id: 'm', name: 'merge', cores: 1, memory: '1Gi', runtime: 60 }],
      }),
      'spot.yaml': JSON.stringify({ scaler: { region: 'us-west-2', nodeTypes: 'c5.xlarge:0.08' } }),
    });
    t.match(
      await refused(t, dir, ['trace.json', '--config', 'spot.yaml']),
      /^toil: trace trace\.json: job 'merge' \(m\) .*: preemptable: the job is not preemptable and every configured node type is spot, so the run could never finish; give scaler\.nodeTypes in spot\.yaml a type that fits/,
    );
  },
);

t.test('a trace every job of which some node type fits still runs to the end', async (t) => {
  const dir = testDir(t, {
    'trace.json': TRACE,
    'bigger.yaml': JSON.stringify({
      scaler: { region: 'us-west-2', nodeTypes: 'c5.xlarge:0.08,r5.2xlarge,r5.4xlarge', maxNodes: 4 },
      simulation: { zones: ['us-west-2a'], seed: 1 },
    }),
  });
  const r = await runToil(['simulate', 'trace.json', '--config', 'bigger.yaml', '--json'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { finished: boolean; jobs: number; makespan: number };
  t.same([result.finished, result.jobs], [true, 3]);
  t.ok(result.makespan >= 8 * 3600, `the aligns' 6 h then the joint's 2 h: ${result.makespan} s`);
});
