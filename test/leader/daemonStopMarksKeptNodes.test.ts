import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { readHeartbeat } from '../../src/ports/leaderHeartbeat.js';
import { fakeDaemonDeps, tickTestConfig } from '../fixtures/leaderFakes.js';

/**
 * A leader that stops and keeps its nodes (shutdown.releaseNodes: false; toil run --keepNodes)
 * marks them kept, so another leader of the cluster does not take its silence for death and retire
 * them; one that releases its nodes terminates them and marks nothing.
 */
function daemon(releaseNodes: boolean) {
  const clock = new ManualClock();
  const config = tickTestConfig({ nodeTypes: ['t2.medium'], minNodes: 1 });
  const deps = fakeDaemonDeps(clock, {
    ...config,
    http: { ...config.http, port: 0 },
    shutdown: { ...config.shutdown, releaseNodes },
  });
  const leader = new LeaderDaemon({
    ...deps,
    newBatchSystem: () => {
      throw new Error('no workflow in this test');
    },
    runWorkflow: () => Promise.reject(new Error('no workflow in this test')),
  });
  return { clock, provisioner: deps.provisioner, leader };
}

t.test('a stop that keeps the nodes marks them kept', async (t) => {
  const d = daemon(false);
  await d.leader.start();
  await d.clock.advance(30_000);
  const [node] = d.provisioner.live();
  t.ok(node, 'minNodes keeps a node');
  t.match(readHeartbeat(node!.tags), { everyMs: 300_000 }, 'beaten while the leader runs');
  await d.leader.stop();
  const after = d.provisioner.live();
  t.same(
    after.map((n) => n.instanceId),
    [node!.instanceId],
    'the node is kept',
  );
  t.match(
    readHeartbeat(after[0]!.tags),
    { leaderId: (d.leader.status() as { leaderId: string }).leaderId, kept: true },
    'marked kept',
  );
});

t.test('a stop that releases the nodes terminates them and marks nothing kept', async (t) => {
  const d = daemon(true);
  await d.leader.start();
  await d.clock.advance(30_000);
  t.equal(d.provisioner.live().length, 1);
  await d.leader.stop();
  t.same(d.provisioner.live(), [], 'released');
  t.notOk(
    d.provisioner.beats.some((b) => b.beat.kept),
    'no kept mark written',
  );
});
