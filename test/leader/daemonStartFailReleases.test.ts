import { createServer, type Server } from 'node:net';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { fakeDaemonDeps, tickTestConfig } from '../fixtures/leaderFakes.js';

/**
 * A leader whose start fails after it adopted its predecessor's nodes (here its HTTP port is
 * taken) ends them as its stop would: released with shutdown.releaseNodes (a toil run), marked
 * kept without. They were left as they were, adopted by a leader that was never going to run.
 */
async function listening(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

function daemons(releaseNodes: boolean, port: number) {
  const clock = new ManualClock();
  const config = tickTestConfig({ nodeTypes: ['t2.medium'], minNodes: 1 });
  const deps = fakeDaemonDeps(clock, {
    ...config,
    http: { ...config.http, host: '127.0.0.1', port: 0 },
    shutdown: { ...config.shutdown, releaseNodes },
  });
  const make = (p: number): LeaderDaemon =>
    new LeaderDaemon({
      ...deps,
      config: () => ({ ...deps.config(), http: { ...deps.config().http, port: p } }),
      newBatchSystem: () => {
        throw new Error('no workflow in this test');
      },
      runWorkflow: () => Promise.reject(new Error('no workflow in this test')),
    });
  return { clock, provisioner: deps.provisioner, first: make(0), second: make(port) };
}

for (const releaseNodes of [true, false])
  t.test(`a start that fails after adopting nodes ${releaseNodes ? 'releases' : 'keeps'} them`, async (t) => {
    const server = await listening();
    t.teardown(() => new Promise<void>((r) => server.close(() => r())));
    const d = daemons(releaseNodes, (server.address() as { port: number }).port);
    await d.first.start();
    await d.clock.advance(30_000);
    const [node] = d.provisioner.live();
    t.ok(node, 'the first leader launched a node (minNodes)');
    // The first leader is never stopped (as if killed): its state names the node, which the
    // second adopts.
    t.teardown(() => d.first.stop().catch(() => undefined));
    await t.rejects(d.second.start(), /EADDRINUSE/);
    if (releaseNodes) t.same(d.provisioner.live(), [], 'released');
    else
      t.ok(
        d.provisioner.beats.some((b) => b.beat.kept),
        'marked kept',
      );
  });
