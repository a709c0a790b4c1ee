import t from 'tap';
import { staticWorkersNotice } from '../../../src/scaler/tick/unownedNodes.js';
import type { ObservedNode } from '../../../src/scaler/tick/clusterView.js';

const worker = (instanceType: string, pricePerHour: number): ObservedNode => ({
  id: `i-${instanceType}`,
  instanceType,
  zone: 'us-west-2a',
  capacityType: 'on-demand',
  state: 'registered',
  launchedAt: 0,
  static: true,
  staticWorker: true,
  pricePerHour,
  tasks: 0,
});

t.test(
  'the static workers notice gives each price, and says so when a type is not priced here',
  async (t) => {
    const line = staticWorkersNotice([worker('c5.large', 0.085), worker('t2.medium', 0)], 120_000, false);
    t.match(line, 'i-c5.large (c5.large on-demand, up 2 min, $0.0850/h)', 'a configured type: its price');
    t.match(
      line,
      'i-t2.medium (t2.medium on-demand, up 2 min, price not known: t2.medium is none of the configured node types',
      'a type launch-cluster chose that the run does not configure: not priced, rather than $0.0000/h',
    );
    t.notMatch(line, '$0.0000/h');
  },
);
