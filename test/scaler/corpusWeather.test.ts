import t from 'tap';
import { figures, MAX_WEATHER, parseArgs, runCase, weatherSeed } from '../../bench/corpus.js';
import { corpusCases } from '../../bench/traces/corpus.js';
import { UserInputError } from '../../src/common/errors.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { simulate } from '../../src/scaler/simulator/engine.js';

/**
 * `npm run bench -- corpus --weather W`: each case under W weather draws (simulation seeds, the
 * trace unchanged), each policy's figures the mean over them, so a case's verdict is not one
 * draw's luck. On stormy spot (0.3 reclaims per node-hour) the draws differ.
 */
// Built once: generating the corpus draws every family's trace.
const stormy = readCatalogue().then((catalogue) => {
  const c = corpusCases(catalogue, 1).find((x) => x.name === 'chains-stream@stormy-spot');
  if (!c) throw new Error('the corpus has no chains-stream@stormy-spot');
  return c;
});

t.test('--weather: one draw by default, a whole number from 1 to 64 when given', (t) => {
  t.equal(parseArgs([]).weather, 1, 'default: the plain run');
  t.equal(parseArgs(['--weather', '5']).weather, 5);
  t.equal(parseArgs(['--families', 'drawn', '--weather', '3']).weather, 3, 'drawn families too');
  const rows: [string, string[], RegExp][] = [
    ['none', ['--weather', '0'], /--weather expects a whole number from 1 to 64, got 0/],
    ['not a number', ['--weather', 'two'], /--weather expects a whole number from 1 to 64, got two/],
    [
      'too many',
      ['--weather', String(MAX_WEATHER + 1)],
      /--weather expects a whole number from 1 to 64, got 65/,
    ],
    ['a fraction', ['--weather', '1.5'], /--weather expects a whole number from 1 to 64, got 1\.5/],
  ];
  for (const [name, args, message] of rows) {
    t.throws(() => parseArgs(args), { code: 'BAD_FLAG', message }, name);
    t.throws(() => parseArgs(args), UserInputError, `${name}: a user's mistake, not a crash`);
  }
  t.end();
});

t.test('one weather draw is the plain run: the case seed, the same figures', async (t) => {
  const c = await stormy;
  const runs = runCase(c, 1);
  t.equal(weatherSeed(c.simulation.seed, 0), c.simulation.seed, 'draw 0 is the case seed');
  const plain = simulate(c.trace, c.scaler, c.simulation, { policy: 'cost' });
  const plainClassic = simulate(c.trace, c.scaler, c.simulation, { policy: 'toil-classic' });
  t.equal(runs.cost.length, 1);
  t.equal(runs.cost[0]!.cost, plain.cost, 'cost policy: the same bill');
  t.equal(runs.classic[0]!.cost, plainClassic.cost, 'toil-classic: the same bill');
  const jobHours = c.trace.jobs.reduce((s, j) => s + j.runtime, 0) / 3600;
  const f = figures(runs.cost, jobHours);
  t.equal(f.cost, plain.cost);
  t.equal(f.makespan, plain.makespan);
  t.equal(f.nodesLaunched, plain.nodesLaunched);
  t.equal(f.reruns, plain.rerunsAfterInterruption);
});

t.test('three weather draws: each its own seed, figures the mean over them', async (t) => {
  const c = await stormy;
  const runs = runCase(c, 3);
  const seeds = [0, 1, 2].map((k) => weatherSeed(c.simulation.seed, k));
  t.equal(new Set(seeds).size, 3, 'three different seeds');
  const alone = seeds.map((seed) => simulate(c.trace, c.scaler, c.simulation, { policy: 'cost', seed }));
  t.same(
    runs.cost.map((r) => r.cost),
    alone.map((r) => r.cost),
    'each draw is the run under its own seed',
  );
  t.ok(
    new Set(alone.map((r) => r.rerunsAfterInterruption)).size > 1 ||
      new Set(alone.map((r) => r.cost)).size > 1,
    `the weather differs between draws (re-runs ${alone.map((r) => r.rerunsAfterInterruption).join(', ')})`,
  );
  const jobHours = c.trace.jobs.reduce((s, j) => s + j.runtime, 0) / 3600;
  const f = figures(runs.cost, jobHours);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  t.equal(f.cost, mean(alone.map((r) => r.cost)), 'cost: the mean bill');
  t.equal(f.makespan, mean(alone.map((r) => r.makespan)), 'makespan: the mean');
  t.equal(f.reruns, mean(alone.map((r) => r.rerunsAfterInterruption)), 're-runs: the mean');
  t.equal(
    f.worstQueueWait,
    Math.max(...alone.map((r) => r.worstQueueWait)),
    'the worst queue wait of any draw',
  );
  t.equal(f.finished, true);
});
