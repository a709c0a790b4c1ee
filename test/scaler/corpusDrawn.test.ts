import { createHash } from 'node:crypto';
import t from 'tap';
import { parseArgs } from '../../bench/corpus.js';
import { CLUSTERS } from '../../bench/traces/clusters.js';
import { drawnCases } from '../../bench/traces/corpus.js';
import { ARRIVALS, DAGS, drawnFamilies, drawnFamily } from '../../bench/traces/drawn.js';
import { FAMILIES, generateTrace } from '../../bench/traces/families.js';
import { UserInputError } from '../../src/common/errors.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseTrace } from '../../src/scaler/simulator/trace.js';

const SEEDS = [1, 2, 3, 4, 5];

t.test('drawn families are the same for the same seed', (t) => {
  t.same(drawnFamilies(7, 16), drawnFamilies(7, 16));
  t.same(drawnFamily(7, 3), drawnFamilies(7, 16)[3], 'a family does not depend on how many are drawn');
  t.end();
});

t.test('different seeds draw different families', (t) => {
  const a = drawnFamilies(1, 16);
  const b = drawnFamilies(2, 16);
  const differ = a.filter((f, i) => JSON.stringify(f.params) !== JSON.stringify(b[i]!.params)).length;
  t.ok(differ >= 14, `parameters differ on ${differ} of 16 families`);
  t.not(JSON.stringify(a.map((f) => f.trace)), JSON.stringify(b.map((f) => f.trace)));
  t.end();
});

t.test('every drawn trace parses, with as many jobs as its parameters say', (t) => {
  for (const seed of SEEDS)
    for (const f of drawnFamilies(seed, 16)) {
      const trace = parseTrace(f.trace, f.name);
      t.equal(trace.jobs.length, f.params.jobs, `${f.name} of seed ${seed}`);
    }
  t.end();
});

t.test('the draws cover every arrival, DAG shape, runtime model and preemptable extreme', (t) => {
  const params = SEEDS.flatMap((s) => drawnFamilies(s, 16).map((f) => f.params));
  t.same(new Set(params.map((p) => p.dag)), new Set(DAGS));
  t.same(new Set(params.map((p) => p.arrival)), new Set(ARRIVALS));
  t.same(
    new Set(params.flatMap((p) => (p.runtimes ? [p.runtimes] : []))),
    new Set(['tight', 'lognormal', 'heavy', 'day']),
  );
  t.same(
    new Set(params.flatMap((p) => (p.shape ? [p.shape] : []))),
    new Set(['cpu', 'memory', 'mixed', 'large']),
  );
  t.ok(
    params.some((p) => p.preemptable === 0),
    'none preemptable',
  );
  t.ok(
    params.some((p) => p.preemptable === 1),
    'all preemptable',
  );
  t.ok(
    params.some((p) => p.preemptable > 0 && p.preemptable < 1),
    'a share between',
  );
  t.ok(params.some((p) => p.declared) && params.some((p) => !p.declared), 'declared walltimes or not');
  t.end();
});

t.test("the fixed families' traces are the ones they were before the drawn families", (t) => {
  // Their generators now take the drawn families' parameters too; the corpus must not move.
  const h = createHash('sha256');
  for (const seed of [1, 2]) for (const f of FAMILIES) h.update(JSON.stringify(generateTrace(f, seed)));
  t.equal(h.digest('hex'), '3ac783c270d2100106e52d198bec50cc7da6e5670adbf76d83f806b5104d1a52');
  t.end();
});

t.test(
  'each drawn case carries its parameters and runs on every scenario or on K drawn for it',
  async (t) => {
    const catalogue = await readCatalogue();
    const all = drawnCases(catalogue, 4, { count: 3 });
    t.equal(all.length, 3 * CLUSTERS.length);
    t.same(
      all.slice(0, CLUSTERS.length).map((c) => c.cluster),
      CLUSTERS.map((c) => c.name),
    );
    t.same(all[0]!.drawn, drawnFamily(4, 0).params);
    t.match(all[0]!.name, /^drawn01-[a-z-]+@calm-rmc$/);
    const two = drawnCases(catalogue, 4, { count: 3, clusters: 2 });
    t.equal(two.length, 6);
    t.same(
      two,
      drawnCases(catalogue, 4, { count: 3, clusters: 2 }),
      'the drawn scenarios are the same by seed',
    );
    t.equal(new Set(two.slice(0, 2).map((c) => c.cluster)).size, 2, 'two different scenarios');
    t.same(two[0]!.trace, all[0]!.trace, 'drawing scenarios does not change the trace');
  },
);

t.test('the corpus bench reads --families, --count and --clusters', (t) => {
  t.match(parseArgs([]), { families: 'fixed', pairings: 'corpus' });
  t.match(parseArgs(['--families', 'drawn', '--seed', '3']), {
    families: 'drawn',
    count: 16,
    clusters: 'all',
    seed: 3,
  });
  t.match(parseArgs(['--families', 'drawn', '--count', '40', '--clusters', '2']), { count: 40, clusters: 2 });
  t.end();
});

t.test('the corpus bench refuses bad drawn-family flags, naming the flag and what it expects', (t) => {
  const rows: [string, string[], RegExp][] = [
    ['an unknown family set', ['--families', 'random'], /--families expects one of fixed, drawn, got random/],
    [
      'no drawn families',
      ['--families', 'drawn', '--count', '0'],
      /--count expects a whole number from 1 to 200, got 0/,
    ],
    [
      'a fractional count',
      ['--families', 'drawn', '--count', '1.5'],
      /--count expects a whole number from 1 to 200, got 1.5/,
    ],
    [
      'too many drawn families',
      ['--families', 'drawn', '--count', '201'],
      /--count expects a whole number from 1 to 200/,
    ],
    [
      'more scenarios than there are',
      ['--families', 'drawn', '--clusters', '7'],
      /--clusters expects a whole number from 1 to 6, got 7/,
    ],
    [
      'a count for the fixed families',
      ['--count', '4'],
      /--count and --clusters apply to drawn families only/,
    ],
    [
      'pairings for drawn families',
      ['--families', 'drawn', '--pairings', 'all'],
      /--pairings applies to the fixed families only/,
    ],
    ['a flag without its value', ['--families', 'drawn', '--count'], /--count needs a value/],
  ];
  for (const [name, args, message] of rows) {
    t.throws(() => parseArgs(args), { code: 'BAD_FLAG', message }, name);
    t.throws(() => parseArgs(args), UserInputError, `${name}: a user's mistake, not a crash`);
  }
  t.end();
});
