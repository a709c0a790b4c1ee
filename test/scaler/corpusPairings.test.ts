import t from 'tap';
import { CLUSTERS } from '../../bench/traces/clusters.js';
import { clustersFor } from '../../bench/traces/corpus.js';
import { FAMILIES } from '../../bench/traces/families.js';

const names = (i: number, pairings: 'corpus' | 'held-out' | 'all'): string[] =>
  clustersFor(i, pairings).map((c) => c.name);

t.test(
  'the held-out pairings run every family on the three scenarios the corpus does not pair it with',
  (t) => {
    FAMILIES.forEach((family, i) => {
      const corpus = names(i, 'corpus');
      const heldOut = names(i, 'held-out');
      t.equal(new Set(corpus).size, 3, `${family.name}: three corpus scenarios`);
      t.equal(new Set(heldOut).size, 3, `${family.name}: three held-out scenarios`);
      t.same(
        [...corpus, ...heldOut].sort(),
        CLUSTERS.map((c) => c.name).sort(),
        `${family.name}: the two meet every scenario once`,
      );
      t.same(names(i, 'all').sort(), [...corpus, ...heldOut].sort(), `${family.name}: 'all' is both`);
    });
    t.end();
  },
);

t.test("neighbouring families meet the corpus's scenarios in turn", (t) => {
  // Family i starts at scenario i, so weather, limits and node-type sets are spread over families.
  t.same(
    FAMILIES.map((_, i) => names(i, 'corpus')[0]),
    FAMILIES.map((_, i) => CLUSTERS[i % CLUSTERS.length]!.name),
  );
  t.end();
});
