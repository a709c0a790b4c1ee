import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/common/configErrors.js';
import { formatResult, runSimulation } from '../../src/cli/simulate.js';
import { parseSimulateConfig } from '../../src/scaler/simulator/config.js';
import { simulate, type SimulationResult } from '../../src/scaler/simulator/engine.js';
import { parseTrace, type Trace } from '../../src/scaler/simulator/trace.js';
import { catalogue } from './fixtures/scaler.js';
import { testDir } from '../fixtures/testDir.js';
import { runToil } from '../fixtures/workflowCli.js';

const setup = (scaler: Record<string, unknown>, simulation: Record<string, unknown> = {}) =>
  parseSimulateConfig(
    { scaler: { betaInertia: 0, ...scaler }, simulation: { bootJitter: 0, ...simulation } },
    catalogue(),
  );

const wide = (n: number, runtime: number, preemptable = false): Trace =>
  parseTrace({
    name: 'wide',
    jobs: Array.from({ length: n }, (_, i) => ({
      id: `j${i}`,
      name: 'work',
      cores: 2,
      memory: '1Gi',
      runtime,
      preemptable,
    })),
  });

t.test('the same seed gives the same run; another seed another run', async (t) => {
  const { scaler, simulation } = setup(
    { nodeTypes: 'c5.large:0.1,c5.large', maxNodes: 20 },
    { spotInterruptionRate: 2, spotPrices: { 'c5.large': 0.03 } },
  );
  const trace = wide(60, 900, true);
  const a = simulate(trace, scaler, simulation, { seed: 5 });
  const b = simulate(trace, scaler, simulation, { seed: 5 });
  t.same(a, b);
  const c = simulate(trace, scaler, simulation, { seed: 6 });
  t.not(JSON.stringify(a), JSON.stringify(c));
  t.ok(a.finished);
  t.ok(a.interruptions > 0, `interruptions happen at 2/node-hour (${a.interruptions})`);
  t.ok(a.rerunsAfterInterruption > 0, 'jobs on interrupted nodes re-run and are counted');
  t.equal(a.planViolations, 0, 'the executor never had to refuse a plan entry');
});

t.test(
  "a job lost on spot more than preemptableRetries times runs on on-demand, as the leader's --preemptableRetries does",
  async (t) => {
    // One 10 h preemptable job at 3 interruptions per spot node-hour: it almost never survives a
    // spot node (e^-30), so without the leader's rule it re-runs until the simulated time runs out.
    const trace = wide(1, 36_000, true);
    const scaler = { nodeTypes: 'c5.large:0.1,c5.large', maxNodes: 5 };
    const weather = { spotInterruptionRate: 3, spotPrices: { 'c5.large': 0.03 }, maxDuration: '4d' };
    for (const [retries, moves] of [
      [3, 4],
      [0, 1],
    ] as const) {
      const { scaler: sc, simulation } = setup(scaler, { ...weather, preemptableRetries: retries });
      for (const policy of ['cost', 'toil-classic'] as const) {
        const r = simulate(trace, sc, simulation, { policy, seed: 3 });
        t.ok(r.finished, `${policy}, preemptableRetries ${retries}: finishes`);
        t.equal(r.rerunsAfterInterruption, moves, `${policy}: lost ${moves} times on spot, then moved`);
        t.ok(
          r.nodeHours.onDemand >= 10,
          `${policy}: its last run is on on-demand (${r.nodeHours.onDemand} h)`,
        );
        t.equal(r.planViolations, 0);
      }
    }
    const { scaler: sc, simulation } = setup(scaler, { ...weather, preemptableRetries: 'unlimited' });
    const r = simulate(trace, sc, simulation, { policy: 'cost', seed: 3 });
    t.notOk(r.finished, 'unlimited (--enableUnlimitedPreemptibleRetries): still re-running after 4 days');
    t.ok(r.rerunsAfterInterruption > 100, `re-ran ${r.rerunsAfterInterruption} times`);
    t.equal(r.nodeHours.onDemand, 0, 'never on on-demand');
  },
);

t.test('billing is per second with the 60 s minimum; makespan is when the last job ends', async (t) => {
  const { scaler, simulation } = setup(
    { nodeTypes: 'c5.large', bootTime: '100s', idleGrace: '1m' },
    { bootTime: '100s' },
  );
  const r = simulate(wide(1, 10), scaler, simulation, { policy: 'cost' });
  // One node launched at 0, registered at 100 s, job runs 100..110 s, workflow ends at 110 s.
  t.equal(r.makespan, 110);
  t.equal(r.nodesLaunched, 1);
  t.equal(r.cost, Math.round((110 / 3600) * 0.085 * 1000) / 1000);
  t.equal(r.worstQueueWait, 100);
  const short = setup(
    { nodeTypes: 'c5.large', bootTime: '10s', bootTimeout: '1m', idleGrace: '1m' },
    { bootTime: '10s' },
  );
  const s = simulate(wide(1, 5), short.scaler, short.simulation, { policy: 'cost' });
  t.equal(s.cost, Math.round((60 / 3600) * 0.085 * 1000) / 1000, 'a 15 s node is billed 60 s');
});

t.test(
  'a refused spot offering: cost moves to the other zone, classic waits a tick and compensates',
  async (t) => {
    const { scaler, simulation } = setup(
      {
        nodeTypes: 'c5.large:0.1,c5.large',
        zones: ['us-east-1a', 'us-east-1b'],
        preemptableCompensation: 1,
        maxNodes: 50,
      },
      {
        capacityRefusals: [
          { instanceType: 'c5.large', zone: 'us-east-1a', capacityType: 'spot', until: '10h' },
        ],
        spotPrices: { 'c5.large': 0.03 },
      },
    );
    const trace = wide(20, 3600, true);
    const cost = simulate(trace, scaler, simulation, { policy: 'cost' });
    const classic = simulate(trace, scaler, simulation, { policy: 'toil-classic' });
    t.ok(cost.finished && classic.finished);
    t.ok(cost.launchRefusals >= 1, 'the first spot launch is refused');
    t.equal(cost.nodeHours.onDemand, 0, 'cost never needs on-demand: zone b has spot');
    t.ok(classic.nodeHours.onDemand > 0, 'classic compensates with on-demand of the same type');
    t.ok(cost.cost < classic.cost, `cost $${cost.cost} < classic $${classic.cost}`);
  },
);

t.test(
  'nodes that never register at all: the cost policy backs off, the run stops early naming why, and the queued job has waited the whole run',
  async (t) => {
    const { scaler, simulation } = setup(
      { nodeTypes: 'c5.large,c5.xlarge', maxNodes: 10, bootTimeout: '5m' },
      { bootFailureRate: 1 },
    );
    const r = simulate(wide(3, 600), scaler, simulation, { policy: 'cost' });
    t.equal(r.ended, 'stuck', 'stopped early: no node ever registers');
    t.ok(
      r.nodesLaunched <= 8,
      `a handful of nodes tried, not one per bootTimeout for 30 days (${r.nodesLaunched})`,
    );
    t.equal(r.bootFailures, r.nodesLaunched);
    t.ok(r.makespan < 6 * 3600, `stopped within hours (${r.makespan} s)`);
    t.equal(r.worstQueueWait, r.makespan, 'the jobs never started waited the whole run');
    t.same(
      r.neverRan.map((g) => [g.jobName, g.count]),
      [['work', 3]],
    );
    t.match(
      r.neverRan[0]!.reason,
      /^waiting: every offering that fits is unavailable \(\d+ nodes (of \S+ )?in a row never registered: (no node is|none is) launched (there )?until /,
    );
  },
);

t.test('nodes that never register are replaced by cost; classic counts them as capacity', async (t) => {
  const { scaler, simulation } = setup(
    { nodeTypes: 'c5.large', maxNodes: 10, bootTimeout: '5m' },
    { bootFailureRate: 0.5, seed: 3 },
  );
  const trace = wide(6, 1200);
  const cost = simulate(trace, scaler, simulation, { policy: 'cost' });
  t.ok(cost.finished);
  t.ok(cost.bootFailures > 0, `some nodes never registered (${cost.bootFailures})`);
  t.ok(cost.nodesLaunched > 6 - 1, 'replacements were launched');
});

t.test(
  'placement: the node launched for a big job runs it, not the small jobs queued before it',
  async (t) => {
    // One r5.4xlarge (16 cores). Eight 2-core one-hour jobs are queued before a 16-core 10-minute
    // one. Placed in queue order, the small jobs fill the node when it registers (100 s) and the big
    // job waits for all of them (until 3,700 s); placed largest first, it runs first and the small
    // jobs wait 700 s. A preemptable big job that no spot node could hold takes its turn with the
    // non-preemptable jobs (before, it waited until every non-preemptable job had placed).
    const { scaler, simulation } = setup(
      { nodeTypes: 'r5.4xlarge', maxNodes: 1, bootTime: '100s' },
      { bootTime: '100s' },
    );
    const rows = [
      { name: 'a non-preemptable big job', preemptable: false },
      { name: 'a preemptable big job no spot node could hold', preemptable: true },
    ];
    for (const row of rows) {
      const trace = parseTrace({
        name: 'big-last',
        jobs: [
          ...Array.from({ length: 8 }, (_, i) => ({
            id: `small${i}`,
            name: 'small',
            cores: 2,
            memory: '4Gi',
            runtime: 3600,
          })),
          { id: 'big', name: 'big', cores: 16, memory: '100Gi', runtime: 600, preemptable: row.preemptable },
        ],
      });
      for (const policy of ['cost', 'toil-classic'] as const) {
        const r = simulate(trace, scaler, simulation, { policy });
        t.equal(
          r.worstQueueWait,
          700,
          `${row.name}, ${policy}: the big job starts at 100 s, the small ones at 700 s`,
        );
        t.equal(r.makespan, 4300, `${row.name}, ${policy}: makespan`);
      }
    }
  },
);

t.test('Toil #3406: day-long jobs take about one day with cost, two with classic', async (t) => {
  const { scaler, simulation } = setup({ nodeTypes: 'm5.2xlarge', maxNodes: 20 });
  const trace = parseTrace({
    name: 'day',
    jobs: Array.from({ length: 20 }, (_, i) => ({
      id: `d${i}`,
      name: 'assemble',
      cores: 8,
      memory: '20Gi',
      runtime: 86_400,
    })),
  });
  const cost = simulate(trace, scaler, simulation, { policy: 'cost' });
  const classic = simulate(trace, scaler, simulation, { policy: 'toil-classic' });
  // With no history the first four start at once and the others once the doubling estimate
  // (twice what the running ones have run) passes the window: every job starts within 2 h.
  t.ok(cost.makespan < 86_400 + 7_200, `cost makespan ${cost.makespan}`);
  t.ok(classic.makespan > 2 * 86_400, `classic makespan ${classic.makespan}`);
  t.ok(cost.cost <= classic.cost * 1.01, 'and costs no more');
});

t.test('trace validation names the field', async (t) => {
  const rows: { name: string; doc: unknown; want: RegExp }[] = [
    { name: 'not an object', doc: [], want: /^expected a mapping, got a list$/ },
    { name: 'no jobs', doc: { name: 'x', jobs: [] }, want: /^jobs: expected at least 1 entry$/ },
    {
      name: 'negative runtime',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: -1 }] },
      want: /^jobs\[0\]\.runtime: expected a duration like "30s", "5m" or "1h", got -1$/,
    },
    {
      name: 'zero runtime',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: '0s' }] },
      want: /^jobs\[0\]\.runtime: expected a duration > 0, like "30s", "20m" or "1h30m"$/,
    },
    {
      name: 'runtime in words',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 'twenty minutes' }] },
      want: /^jobs\[0\]\.runtime: expected a duration like "30s", "5m" or "1h", got "twenty minutes"$/,
    },
    {
      name: 'a runtime of 1e400, which JSON reads as Infinity',
      doc: JSON.parse(
        '{"name":"x","jobs":[{"id":"a","name":"a","cores":1,"memory":"1Gi","runtime":1e400}]}',
      ) as unknown,
      want: /^jobs\[0\]\.runtime: expected a duration like "30s", "5m" or "1h", got a number out of range \(beyond ±1\.8e308, the largest a number holds\)$/,
    },
    {
      name: 'cores of 1e400',
      doc: JSON.parse(
        '{"name":"x","jobs":[{"id":"a","name":"a","cores":1e400,"memory":"1Gi","runtime":1}]}',
      ) as unknown,
      want: /^jobs\[0\]\.cores: expected a number, got a number out of range \(beyond ±1\.8e308/,
    },
    {
      name: 'cores as a string',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: '2', memory: '1Gi', runtime: 1 }] },
      want: /^jobs\[0\]\.cores: expected a number, got a string$/,
    },
    {
      name: 'a misspelt field',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtme: 1, runtime: 1 }] },
      want: /^jobs\[0\]: Unrecognized key: "runtme" \(did you mean runtime\?\)$/,
    },
    {
      name: 'preemptable as a word',
      doc: {
        name: 'x',
        jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 1, preemptable: 'yes' }],
      },
      want: /^jobs\[0\]\.preemptable: expected true or false, got "yes"$/,
    },
    {
      name: 'bad memory',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, memory: 'lots', runtime: 1 }] },
      want: /^jobs\[0\]\.memory: expected a size/,
    },
    {
      name: 'memory missing',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, runtime: 1 }] },
      want: /^jobs\[0\]\.memory: required: a size like "600M" or "2Gi"/,
    },
    {
      name: 'memory neither a string nor a number',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, memory: true, runtime: 1 }] },
      want: /^jobs\[0\]\.memory: expected a size like "600M" or "2Gi" .*, got true$/,
    },
    {
      name: 'duplicate id',
      doc: {
        name: 'x',
        jobs: [
          { id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 1 },
          { id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 1 },
        ],
      },
      want: /^jobs\[1\]\.id: duplicate id "a"/,
    },
    {
      name: 'unknown dependency',
      doc: {
        name: 'x',
        jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 1, dependsOn: ['b'] }],
      },
      want: /^jobs\[0\]\.dependsOn\[0\]: no job has id "b"/,
    },
    {
      name: 'cycle',
      doc: {
        name: 'x',
        jobs: [
          { id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 1, dependsOn: ['b'] },
          { id: 'b', name: 'b', cores: 1, memory: '1Gi', runtime: 1, dependsOn: ['a'] },
        ],
      },
      want: /dependency cycle/,
    },
    {
      name: 'unknown field',
      doc: { name: 'x', jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 1, gpus: 1 }] },
      want: /jobs\[0\].*gpus/,
    },
  ];
  for (const row of rows) {
    try {
      parseTrace(row.doc);
      t.fail(`${row.name}: accepted`);
    } catch (e) {
      t.ok(e instanceof ConfigError, row.name);
      t.ok(
        (e as ConfigError).problems.some((p) => row.want.test(p)),
        `${row.name}: ${(e as ConfigError).problems.join(' | ')}`,
      );
    }
  }
  t.equal(
    parseTrace({
      name: 'x',
      jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 1, preemptible: true }],
    }).jobs[0]!.preemptable,
    true,
    'preemptible spelling',
  );
  const [worded] = parseTrace({
    jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', arrival: '1h', runtime: '20m', walltime: '1h30m' }],
  }).jobs;
  t.same(
    [worded!.arrival, worded!.runtime, worded!.walltime],
    [3600, 1200, 5400],
    'arrival, runtime and walltime as durations are seconds, as numbers are',
  );
});

t.test('simulate config validation names the field, in both sections', async (t) => {
  try {
    parseSimulateConfig(
      {
        scaler: { nodeTypes: 'c5.lrge' },
        simulation: {
          bootTime: 'soon',
          bootFailureRate: 2,
          capacityRefusals: [{ capacityType: 'ondemand', until: '1h' }],
        },
      },
      catalogue(),
    );
    t.fail('accepted');
  } catch (e) {
    const p = (e as ConfigError).problems.join('\n');
    t.match(p, /scaler\.nodeTypes: unknown instance type "c5\.lrge"/);
    t.match(p, /simulation\.bootTime: expected a duration/);
    t.match(p, /simulation\.bootFailureRate: expected a number from 0 to 1$/m);
    t.match(
      p,
      /^simulation\.capacityRefusals\[0\]\.capacityType: expected one of spot, on-demand, got "ondemand" \(did you mean on-demand\?\)$/m,
    );
  }
});

t.test('a simulate config without its scaler: section says what is missing and what it takes', async (t) => {
  try {
    // YAML reads 1e400 as Infinity.
    parseSimulateConfig({ simulation: { bootTime: Number('1e400') } }, catalogue());
    t.fail('accepted');
  } catch (e) {
    t.same((e as ConfigError).problems, [
      'simulation.bootTime: expected a duration like "30s", "5m" or "1h", got a number out of range (beyond ±1.8e308, the largest a number holds)',
      'scaler: missing: expected the cluster to simulate (at least scaler.nodeTypes), as in a leader config',
    ]);
  }
});

t.test(
  'simulate config: weather for an instance type or zone the cluster has not is refused, naming it (it would never match a launch)',
  async (t) => {
    const scaler = {
      region: 'us-west-2',
      nodeTypes: 'c5.2xlarge:0.3,m5.2xlarge',
      zones: ['us-west-2a', 'us-west-2b'],
    };
    const rows: { name: string; simulation: Record<string, unknown>; want?: RegExp }[] = [
      {
        name: 'a refusal of a mistyped type',
        simulation: { capacityRefusals: [{ instanceType: 'c5.2xlarg', until: '2h' }] },
        want: /^simulation\.capacityRefusals\[0\]\.instanceType: c5\.2xlarg is no instance type of the cluster's \(scaler\.nodeTypes: c5\.2xlarge, m5\.2xlarge\); did you mean c5\.2xlarge\?$/,
      },
      {
        name: 'a refusal in a zone the cluster does not use',
        simulation: { capacityRefusals: [{ zone: 'us-west-2c', until: '2h' }] },
        want: /^simulation\.capacityRefusals\[0\]\.zone: us-west-2c is no zone of the cluster's \(scaler\.zones: us-west-2a, us-west-2b\)/,
      },
      {
        name: 'a spot price for a type not in the cluster',
        simulation: { spotPrices: { 'r5.2xlarge': 0.2 } },
        want: /^simulation\.spotPrices\.r5\.2xlarge: r5\.2xlarge is no instance type of the cluster's/,
      },
      {
        name: 'a spot price for a zone not in the cluster',
        simulation: { spotPrices: { 'c5.2xlarge/us-east-1a': 0.2 } },
        want: /^simulation\.spotPrices\.c5\.2xlarge\/us-east-1a: us-east-1a is no zone of the cluster's/,
      },
      {
        name: 'a spot price key of three parts',
        simulation: { spotPrices: { 'c5.2xlarge/us-west-2a/spot': 0.2 } },
        want: /expected an instance type or type\/zone/,
      },
      {
        name: 'a boot jitter longer than the boot',
        simulation: { bootTime: '30s', bootJitter: '1m' },
        want: /^simulation\.bootJitter: 60s is longer than bootTime \(30s\)/,
      },
      {
        name: 'known types and zones, by type and by type/zone: accepted',
        simulation: {
          capacityRefusals: [{ instanceType: 'm5.2xlarge', zone: 'us-west-2b', until: '1h' }],
          spotPrices: { 'c5.2xlarge': 0.1, 'c5.2xlarge/us-west-2a': 0.12 },
        },
      },
    ];
    for (const row of rows) {
      let problems: readonly string[] = [];
      try {
        parseSimulateConfig({ scaler, simulation: row.simulation }, catalogue());
      } catch (e) {
        problems = (e as ConfigError).problems;
      }
      if (!row.want) t.same(problems, [], row.name);
      else {
        t.equal(problems.length, 1, `${row.name}: one problem (${problems.join(' | ')})`);
        t.match(problems[0], row.want, row.name);
      }
    }
  },
);

t.test('the simulate command reads files and reports problems as user errors', async (t) => {
  const dir = testDir(t, {});
  const tracePath = join(dir, 'trace.json');
  const configPath = join(dir, 'cluster.yaml');
  writeFileSync(
    tracePath,
    JSON.stringify({ name: 'tiny', jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 30 }] }),
  );
  writeFileSync(configPath, 'scaler:\n  nodeTypes: c5.large\nsimulation:\n  seed: 4\n');
  const r = await runSimulation(tracePath, configPath, { policy: 'toil-classic' });
  t.equal(r.policy, 'toil-classic');
  t.equal(r.seed, 4);
  t.ok(r.finished);
  t.match(formatResult(r), /trace tiny, policy toil-classic, seed 4\n {2}cost {17}\$0\.0\d/);
  writeFileSync(join(dir, 'bad.json'), '{');
  await t.rejects(runSimulation(join(dir, 'bad.json'), configPath), {
    code: 'TRACE_INVALID',
    message:
      /^trace \S+bad\.json:1:2: not JSON: expected a quoted key, found the end of the file \(the line reads '\{'\)$/,
  });
  await t.rejects(runSimulation(join(dir, 'missing.json'), configPath), /cannot read trace/);
  // A job that would arrive after the simulation ends: refused up front, not "never arrived" 30 days on.
  writeFileSync(
    join(dir, 'late.json'),
    JSON.stringify({
      jobs: [{ id: 'late', name: 'a', cores: 1, memory: '1Gi', runtime: 30, arrival: '40d' }],
    }),
  );
  await t.rejects(runSimulation(join(dir, 'late.json'), configPath), {
    code: 'TRACE_INVALID',
    message:
      /^trace \S+late\.json: job late arrives at 960h00m, not before the simulation ends \(simulation\.maxDuration 720h00m\): give a longer maxDuration in the simulation: section of \S+cluster\.yaml$/,
  });
  await t.rejects(runSimulation(join(dir, 'late.json')), { message: /section of a --config file$/ });
});

t.test(
  'a trace without a name is named by its file, and toil simulate without --config runs the shipped cluster, saying so',
  async (t) => {
    const dir = testDir(t, {});
    const tracePath = join(dir, 'my-pipeline.json');
    // As a user first writes one: no trace name, a preemptable scatter and its gather.
    writeFileSync(
      tracePath,
      JSON.stringify({
        jobs: [
          { id: 'a', name: 'align', cores: 2, memory: '4Gi', preemptable: true, runtime: 600 },
          { id: 'b', name: 'merge', cores: 4, memory: '8Gi', runtime: 1200, dependsOn: ['a'] },
        ],
      }),
    );
    const r = await runSimulation(tracePath);
    t.equal(r.trace, 'my-pipeline', "the file's name without .json");
    t.ok(r.finished, 'the shipped cluster runs it');
    t.ok(r.nodesLaunched >= 1 && r.cost > 0, `it launched ${r.nodesLaunched} node(s) for $${r.cost}`);
    const run = await runToil(['simulate', tracePath], { cwd: dir });
    t.equal(run.code, 0, run.stderr);
    t.match(
      run.stderr,
      /^toil simulate: no --config: simulating the shipped bench\/traces\/cluster\.yaml \(7 node types, c5\.2xlarge:0\.3, m5\.2xlarge:0\.3, c5\.2xlarge, m5\.2xlarge, r5\.2xlarge, c5\.4xlarge, m5\.4xlarge \(2 spot, 5 on-demand\), maxNodes 10 each\); give --config FILE for yours$/m,
    );
    t.match(run.stdout, /^trace my-pipeline, policy cost, seed \d+\n {2}cost {17}\$\d+\.\d\d/);
  },
);

t.test('toil simulate --compare runs both policies on the same trace and prints their ratios', async (t) => {
  const dir = testDir(t, {});
  const tracePath = join(dir, 'wave.json');
  writeFileSync(
    tracePath,
    JSON.stringify({
      jobs: Array.from({ length: 40 }, (_, i) => ({
        id: `j${i}`,
        name: 'step',
        cores: 2,
        memory: '3Gi',
        preemptable: i % 2 === 0,
        runtime: '10m',
      })),
    }),
  );
  const json = await runToil(['simulate', tracePath, '--compare', '--json'], { cwd: dir });
  t.equal(json.code, 0, json.stderr);
  const both = JSON.parse(json.stdout) as { cost: SimulationResult; toilClassic: SimulationResult };
  t.same([both.cost.policy, both.toilClassic.policy], ['cost', 'toil-classic']);
  t.equal(both.cost.seed, both.toilClassic.seed, 'the same seed');
  const text = await runToil(['simulate', tracePath, '--compare'], { cwd: dir });
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^trace wave, policy cost, seed \d+$/m);
  t.match(text.stdout, /^trace wave, policy toil-classic, seed \d+$/m);
  const ratio = (a: number, b: number): string => (a / b).toFixed(2).replace('.', '\\.');
  t.match(
    text.stdout,
    new RegExp(
      `^ {2}cost {17}${ratio(both.cost.cost, both.toilClassic.cost)}× \\(\\$${both.cost.cost.toFixed(2)} against \\$${both.toilClassic.cost.toFixed(2)}\\)$`,
      'm',
    ),
    "the cost ratio is the two runs' costs divided",
  );
  t.match(
    text.stdout,
    new RegExp(
      `^ {2}nodes launched {7}.+ \\(${both.cost.nodesLaunched} against ${both.toilClassic.nodesLaunched}\\)$`,
      'm',
    ),
  );
  const refused = await runToil(['simulate', tracePath, '--compare', '--policy', 'cost'], { cwd: dir });
  t.equal(refused.code, 2);
  t.match(
    refused.stderr,
    /^toil: --compare runs both policies \(cost and toil-classic\); drop --policy cost$/m,
  );
});

t.test(
  'a limit toil-classic does not honour is refused however toil-classic is chosen: the file, --policy or --compare',
  async (t) => {
    const dir = testDir(t, {});
    const tracePath = join(dir, 'trace.json');
    writeFileSync(
      tracePath,
      JSON.stringify({
        jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 30, preemptable: true }],
      }),
    );
    const limited = join(dir, 'limited.yaml');
    writeFileSync(limited, 'scaler:\n  nodeTypes: c5.large:0.05,c5.large\n  maxPreemptableNodes: 2\n');
    const classicFile = join(dir, 'classic.yaml');
    writeFileSync(
      classicFile,
      'scaler:\n  policy: toil-classic\n  nodeTypes: c5.large:0.05,c5.large\n  maxPreemptableNodes: 2\n',
    );
    const refusal = (path: string, why: string): string =>
      `toil: ${path} is invalid:\n  - scaler.maxPreemptableNodes: ${why}\n`;

    const byFile = await runToil(['simulate', tracePath, '--config', classicFile], { cwd: dir });
    t.equal(byFile.code, 2, 'policy toil-classic in the file: refused');
    t.equal(
      byFile.stderr,
      refusal(
        classicFile,
        'policy toil-classic does not honour it (Toil has no such limit); remove it, or use policy cost',
      ),
    );

    const byFlag = await runToil(['simulate', tracePath, '--config', limited, '--policy', 'toil-classic'], {
      cwd: dir,
    });
    t.equal(byFlag.code, 2, '--policy toil-classic on a file of the cost policy: refused');
    t.equal(
      byFlag.stderr,
      refusal(
        limited,
        '--policy toil-classic does not honour it (Toil has no such limit); remove it, or use --policy cost',
      ),
    );
    t.equal(byFlag.stdout, '', 'nothing simulated');

    for (const config of [limited, classicFile]) {
      const compared = await runToil(['simulate', tracePath, '--config', config, '--compare'], { cwd: dir });
      t.equal(compared.code, 2, `--compare on ${config}: refused`);
      t.equal(
        compared.stderr,
        refusal(
          config,
          '--compare runs toil-classic, which does not honour it (Toil has no such limit), so its ratios would ' +
            'compare different limits; remove it to compare the two policies',
        ),
      );
      t.equal(compared.stdout, '', 'neither policy was run: no report and no ratio');
    }

    // The policy that runs decides: the file's toil-classic overridden by --policy cost keeps the limit.
    const cost = await runToil(
      ['simulate', tracePath, '--config', classicFile, '--policy', 'cost', '--json'],
      {
        cwd: dir,
      },
    );
    t.equal(cost.code, 0, cost.stderr);
    t.equal((JSON.parse(cost.stdout) as SimulationResult).policy, 'cost');
    const r = await runSimulation(tracePath, classicFile, { policy: 'cost' });
    t.equal(r.policy, 'cost', 'runSimulation runs the policy it was given');
    const err = (await runSimulation(tracePath, limited, { policy: 'toil-classic' }).catch(
      (e: unknown) => e,
    )) as ConfigError;
    t.type(err, ConfigError);
    t.same(err.problems, [
      'scaler.maxPreemptableNodes: --policy toil-classic does not honour it (Toil has no such limit); remove it, or use --policy cost',
    ]);
  },
);

t.test('the cost breakdown splits billed time into boot, used, unused, idle and minimum', async (t) => {
  const { scaler, simulation } = setup(
    { nodeTypes: 'c5.large', bootTime: '100s', idleGrace: '1m' },
    { bootTime: '100s' },
  );
  const perSecond = 0.085 / 3600;
  // One 2-core c5.large: boots 100 s, then one job holds all its cores for 10 s.
  const full = simulate(wide(1, 10), scaler, simulation, { policy: 'cost' });
  t.equal(full.breakdown.boot, Math.round(100 * perSecond * 1000) / 1000);
  t.equal(full.breakdown.used, Math.round(10 * perSecond * 1000) / 1000);
  t.equal(full.breakdown.unused, 0);
  t.equal(full.breakdown.idle, 0);
  t.same(full.breakdown.byType, {
    'c5.large on-demand': { nodes: 1, hours: 0.031, cost: full.cost, unused: 0 },
  });
  // A 1-core job on the same node leaves half of it unused while it runs (cores dominate here).
  const half = simulate(
    parseTrace({
      name: 'half',
      jobs: [{ id: 'a', name: 'a', cores: 1, memory: '100Mi', runtime: 3600, preemptable: false }],
    }),
    scaler,
    simulation,
    { policy: 'cost' },
  );
  t.ok(Math.abs(half.breakdown.used - 1800 * perSecond) < 0.002, `used ${half.breakdown.used}`);
  t.ok(Math.abs(half.breakdown.unused - 1800 * perSecond) < 0.002, `unused ${half.breakdown.unused}`);
  for (const r of [full, half]) {
    const b = r.breakdown;
    t.ok(Math.abs(b.used + b.unused + b.idle + b.boot + b.minimum - r.cost) < 0.003, 'the parts add up');
  }
});

t.test(
  'a run that cannot finish stops early and names each job that never ran with its reason',
  async (t) => {
    const trace = parseTrace({
      name: 'stuck',
      jobs: [
        { id: 'small', name: 'small', cores: 1, memory: '1Gi', runtime: 60 },
        { id: 'huge', name: 'huge', cores: 1, memory: '300Gi', runtime: 60 },
        { id: 'after', name: 'after', cores: 1, memory: '1Gi', runtime: 60, dependsOn: ['huge'] },
      ],
    });
    const rows = [
      { name: 'unschedulable (memory)', policy: 'cost' as const },
      { name: 'unschedulable (memory), toil-classic', policy: 'toil-classic' as const },
    ];
    for (const row of rows) {
      const { scaler, simulation } = setup({ nodeTypes: 'c5.large,r5.large' });
      const r = simulate(trace, scaler, simulation, { policy: row.policy });
      t.equal(r.finished, false, row.name);
      t.equal(r.ended, 'stuck', `${row.name}: stops early, not after 30 simulated days`);
      t.ok(r.makespan < 3600, `${row.name}: stopped at ${r.makespan} s`);
      t.same(
        r.neverRan.map((g) => [g.jobName, g.count, g.jobIds]),
        [
          ['after', 1, ['after']],
          ['huge', 1, ['huge']],
        ],
        row.name,
      );
      t.match(r.neverRan[1]!.reason, /^unschedulable: memory: asks 300\.0 GiB, r5\.large offers/, row.name);
      t.match(r.neverRan[0]!.reason, /^never released: waits on job 'huge' \(huge\), which never started$/);
      const text = formatResult(r);
      t.match(text, /DID NOT FINISH: stopped early, nothing could change any more/);
      t.match(text, /jobs that never ran\n {4}1 × 'after' \(after\): never released/);
    }
  },
);

t.test(
  'jobs under a stuck job name it, however deep: a tree is one line per name, and the report shows 20 groups at most',
  async (t) => {
    // A root too big for any node, a chain of 3 under it, 30 leaves of 24 names under the chain.
    const jobs: Record<string, unknown>[] = [
      { id: 'root', name: 'root', cores: 1, memory: '300Gi', runtime: 60 },
      { id: 'c1', name: 'chain', cores: 1, memory: '1Gi', runtime: 60, dependsOn: ['root'] },
      { id: 'c2', name: 'chain', cores: 1, memory: '1Gi', runtime: 60, dependsOn: ['c1'] },
      { id: 'c3', name: 'chain', cores: 1, memory: '1Gi', runtime: 60, dependsOn: ['c2'] },
      ...Array.from({ length: 30 }, (_, i) => ({
        id: `leaf${i}`,
        name: `leaf${i % 24}`,
        cores: 1,
        memory: '1Gi',
        runtime: 60,
        dependsOn: ['c3'],
      })),
    ];
    const { scaler, simulation } = setup({ nodeTypes: 'c5.large,r5.large' });
    const r = simulate(parseTrace({ name: 'deep', jobs }), scaler, simulation, { policy: 'cost' });
    t.equal(r.ended, 'stuck');
    t.equal(r.neverRan.length, 26, 'root, chain and 24 leaf names: one group each');
    const chain = r.neverRan.find((g) => g.jobName === 'chain')!;
    t.same(
      [chain.count, chain.reason],
      [3, "never released: waits on job 'root' (root), which never started"],
    );
    t.ok(
      r.neverRan.filter((g) => g.jobName.startsWith('leaf')).every((g) => g.reason === chain.reason),
      'every leaf names the root, not its parent c3',
    );
    const lines = formatResult(r).split('\n');
    const from = lines.indexOf('  jobs that never ran');
    t.equal(lines.length - from - 1, 21, '20 groups and a line for the rest');
    t.match(lines.at(-1), /^ {4}… and \d+ more job\(s\) in 6 more group\(s\) \(--json lists them all\)$/);
  },
);

t.test("a job the plan keeps waiting (budget below any node) is named with the plan's reason", async (t) => {
  // Spot: a budget under an all-on-demand cluster is refused by the config.
  const { scaler, simulation } = setup({ nodeTypes: 'c5.large:0.1', maxHourlyCost: 0.01 });
  const r = simulate(wide(3, 60, true), scaler, simulation, { policy: 'cost' });
  t.equal(r.ended, 'stuck');
  t.equal(r.nodesLaunched, 0);
  t.same(
    r.neverRan.map((g) => [g.jobName, g.count]),
    [['work', 3]],
  );
  t.match(
    r.neverRan[0]!.reason,
    /^waiting: maxHourlyCost \$0\.01\/h is below the cheapest node that fits \(c5\.large spot at \$0\.0\d+\/h\); runs on existing nodes as they free up, or raise it$/,
    'not a limit reached: one no node is under',
  );
});

t.test('a spot-only cluster with non-preemptable work: the constraint is named', async (t) => {
  const { scaler, simulation } = setup({ nodeTypes: 'c5.large:0.1' });
  const r = simulate(wide(2, 60, false), scaler, simulation, { policy: 'cost' });
  t.equal(r.ended, 'stuck');
  t.match(
    r.neverRan[0]!.reason,
    /preemptable: the job is not preemptable and every configured node type is spot/,
  );
});

t.test(
  'a run that is only slow is not stopped early: booting nodes, arrivals later, refusals ending',
  async (t) => {
    // Spot refused everywhere for 2 h, compensation 0: the work waits, then runs once spot is back.
    const { scaler, simulation } = setup(
      { nodeTypes: 'c5.large:0.1', preemptableCompensation: 0 },
      { capacityRefusals: [{ capacityType: 'spot', until: '2h' }], unavailableFor: '3m' },
    );
    const r = simulate(wide(4, 60, true), scaler, simulation, { policy: 'cost' });
    t.equal(r.ended, 'finished');
    t.ok(r.makespan > 7200, `ran after the refusals ended (${r.makespan} s)`);
    // A job that arrives in 5 hours on an idle cluster.
    const late = parseTrace({
      name: 'late',
      jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 60, arrival: 18_000 }],
    });
    const l = simulate(late, setup({ nodeTypes: 'c5.large' }).scaler, simulation, { policy: 'toil-classic' });
    t.equal(l.ended, 'finished');
    t.same(l.neverRan, []);
  },
);

t.test('limit overruns: ticks that leave more nodes billed than a limit allows are counted', async (t) => {
  // Toil has no spot-pool limit, so toil-classic runs the spot type up to its own maxNodes 4; the
  // cost policy keeps to maxPreemptableNodes 2.
  const { scaler, simulation } = setup(
    { nodeTypes: 'c5.large:0.1,c5.large', maxNodes: [4, 4], maxPreemptableNodes: 2 },
    { spotPrices: { 'c5.large': 0.03 } },
  );
  const trace = wide(40, 1800, true);
  const classic = simulate(trace, scaler, simulation, { seed: 1, policy: 'toil-classic' });
  const cost = simulate(trace, scaler, simulation, { seed: 1, policy: 'cost' });
  t.ok(classic.finished && cost.finished);
  t.ok(
    classic.limitOverruns > 0,
    `toil-classic overran maxPreemptableNodes on ${classic.limitOverruns} ticks`,
  );
  t.equal(cost.limitOverruns, 0, 'the cost policy never did');
});

t.test('a leader config given to simulate is named as one, with what simulate takes instead', async (t) => {
  const dir = testDir(t, {});
  const tracePath = join(dir, 'trace.json');
  const configPath = join(dir, 'leader.yaml');
  writeFileSync(
    tracePath,
    JSON.stringify({ name: 'tiny', jobs: [{ id: 'a', name: 'a', cores: 1, memory: '1Gi', runtime: 30 }] }),
  );
  writeFileSync(
    configPath,
    'jobStore: file:./state\nhttp:\n  port: 8080\nscaler:\n  nodeTypes: c5.large\nsimulaton: {}\n',
  );
  const err = (await runSimulation(tracePath, configPath).catch((e: unknown) => e)) as ConfigError;
  t.type(err, ConfigError);
  t.same(err.problems, [
    'Unrecognized keys: "jobStore", "http", "simulaton" (did you mean simulation?)',
    'jobStore, http: keys of a leader config (toil leader --config); toil simulate takes a file with its scaler: section (copied as it is) and an optional simulation: section',
  ]);
  writeFileSync(configPath, 'scaler:\n  nodeTypes: c5.large\nsimulaton: {}\n');
  const plain = (await runSimulation(tracePath, configPath).catch((e: unknown) => e)) as ConfigError;
  t.same(
    plain.problems,
    ['Unrecognized key: "simulaton" (did you mean simulation?)'],
    'no leader key: no leader hint',
  );
});
