import t from 'tap';
import { figures, runCase } from '../../bench/corpus.js';
import { drawnCases } from '../../bench/traces/corpus.js';
import { formatResult } from '../../src/cli/simulate.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { simulate } from '../../src/scaler/simulator/engine.js';

/**
 * Churn that launches do not show: a node drained by one plan and taken back by a later one (a
 * batch-system call each way, a log line, a window in which no work lands there). The simulator
 * counts drains and take-backs for either policy, and the corpus reports them per case. The case:
 * drawn seed 24's chains of large steps in bursts on calm spot, where each policy drains its
 * r5.8xlarge at a burst's start and takes it back a minute later.
 */
t.test(
  'a drain a later plan undoes is counted as a take-back, by the simulator and the corpus',
  async (t) => {
    const c = drawnCases(await readCatalogue(), 24, { count: 9 }).find(
      (x) => x.name === 'drawn08-chains-bursts@calm-rmc',
    );
    if (!c) throw new Error('drawn seed 24 has no drawn08-chains-bursts@calm-rmc');
    const runs = runCase(c, 1);
    for (const policy of ['cost', 'toil-classic'] as const) {
      const plans = { drains: 0, takeBacks: 0 };
      const r = simulate(c.trace, c.scaler, c.simulation, {
        policy,
        onPlan: (_t, p) => {
          plans.drains += p.drain.length;
          plans.takeBacks += p.undrain.length;
        },
      });
      t.ok(r.finished, `${policy} finishes`);
      t.equal(r.planViolations, 0, `${policy}: every drain and take-back was applied`);
      t.same({ drains: r.drains, takeBacks: r.takeBacks }, plans, `${policy}: one count per plan entry`);
      t.ok(r.takeBacks >= 1, `${policy} took a drained node back (${r.takeBacks} times)`);
      t.ok(r.drains > r.takeBacks, `${policy}: most drains stand (${r.drains} drains)`);
      t.match(
        formatResult(r),
        new RegExp(`^ {2}drains {15}${r.drains}, ${r.takeBacks} taken back by a later plan$`, 'm'),
        `${policy}: toil simulate prints them`,
      );
      const line = figures(policy === 'cost' ? runs.cost : runs.classic, 1);
      t.same(
        { drains: line.drains, takeBacks: line.takeBacks },
        plans,
        `${policy}: the corpus line carries them`,
      );
    }
  },
);
