import t from 'tap';
import { DisconnectedAgents } from '../../src/mesos/disconnectedAgents.js';
import type { AgentView } from '../../src/mesos/masterClient.js';

const none = { cpus: 0, mem: 0, disk: 0 };

function agent(id: string, state: 'connected' | 'disconnected' | 'deactivated'): AgentView {
  return {
    id,
    hostname: `host-${id}`,
    attributes: {},
    preemptable: true,
    active: state === 'connected',
    deactivated: state === 'deactivated',
    total: none,
    used: none,
    offered: none,
  };
}

const ours = (id: string): boolean => id !== 'theirs';

t.test('an agent of ours disconnected for the grace period is gone; one back in time is not', async (t) => {
  const watch = new DisconnectedAgents(3000);
  t.same(
    watch.gone([agent('a', 'disconnected'), agent('b', 'disconnected')], 10_000, ours),
    [],
    'first seen',
  );
  t.same(
    watch.gone([agent('a', 'disconnected'), agent('b', 'connected')], 12_000, ours),
    [],
    'not yet for long enough; b reconnected',
  );
  t.same(
    watch.gone([agent('a', 'disconnected'), agent('b', 'disconnected')], 13_000, ours),
    ['a'],
    'a: 3 s disconnected; b starts afresh',
  );
  t.same(watch.gone([agent('b', 'disconnected')], 15_999, ours), [], 'b: 2.999 s since it went again');
  t.same(watch.gone([agent('b', 'disconnected')], 16_000, ours), ['b']);
});

t.test('an agent no longer listed starts afresh when listed disconnected again', async (t) => {
  const watch = new DisconnectedAgents(3000);
  watch.gone([agent('a', 'disconnected')], 0, ours);
  watch.gone([], 1000, ours);
  t.same(watch.gone([agent('a', 'disconnected')], 3000, ours), [], 'since 3 s, not 0 s');
  t.same(watch.gone([agent('a', 'disconnected')], 6000, ours), ['a']);
});

t.test('deactivated or draining agents, and agents without our tasks, are never gone', async (t) => {
  const watch = new DisconnectedAgents(0);
  t.same(
    watch.gone(
      [agent('d', 'deactivated'), agent('theirs', 'disconnected'), agent('c', 'connected')],
      0,
      ours,
    ),
    [],
  );
});
