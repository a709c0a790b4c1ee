import t from 'tap';
import { staticWorkersNotice } from '../../../src/scaler/tick/unownedNodes.js';
import type { ObservedNode } from '../../../src/scaler/tick/clusterView.js';
import type { PriceSource } from '../../../src/scaler/tick/nodePrice.js';

const worker = (instanceType: string, pricePerHour: number, priceSource: PriceSource): ObservedNode => ({
  id: `i-${instanceType}`,
  instanceType,
  zone: 'us-west-2a',
  capacityType: 'on-demand',
  state: 'registered',
  launchedAt: 0,
  static: true,
  staticWorker: true,
  pricePerHour,
  priceSource,
  tasks: 0,
});

t.test(
  'the static workers notice gives each price, where it came from, and says so when a type is priced nowhere',
  async (t) => {
    const line = staticWorkersNotice(
      [
        worker('c5.large', 0.085, 'config'),
        worker('t2.medium', 0.0464, 'on-demand'),
        worker('x9.huge', 0, 'unknown'),
      ],
      120_000,
      false,
    );
    t.match(line, 'i-c5.large (c5.large on-demand, up 2 min, $0.0850/h)', 'a configured type: its price');
    t.match(
      line,
      'i-t2.medium (t2.medium on-demand, up 2 min, $0.0464/h on demand)',
      'a type the run does not configure: the catalogue price, saying so',
    );
    t.match(
      line,
      'i-x9.huge (x9.huge on-demand, up 2 min, price not known: x9.huge is in neither the configured node types nor the instance catalogue',
      'a type launch-cluster chose that the run does not configure: not priced, rather than $0.0000/h',
    );
    t.notMatch(line, '$0.0000/h');
  },
);
