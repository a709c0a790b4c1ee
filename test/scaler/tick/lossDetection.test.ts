import t from 'tap';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/log.js';
import type { ProvisionedNode } from '../../../src/ports/provisioner.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import {
  FakeAgents,
  MemoryTickStore,
  RecordingProvisioner,
  preemptableJobs,
  tickTestConfig,
} from '../../fixtures/leaderFakes.js';

/**
 * Loss detection: the jobs of a node seen gone (EC2 says shutting-down or terminated) or of an
 * agent cut off from the master are declared lost, and so issued again, in the tick that sees it:
 * not when Mesos' health check gives up on the agent (75 s) nor at bootTimeout. The clock does not
 * move between the tick that sees the node running and the one that sees it gone.
 */
function setup() {
  const clock = new ManualClock();
  const provisioner = new RecordingProvisioner(clock);
  const agents = new FakeAgents();
  const store = new MemoryTickStore();
  const make = (): ClusterScaler =>
    new ClusterScaler({
      provisioner,
      cluster: agents,
      store,
      clock,
      log: silentLogger(),
      config: () => tickTestConfig(),
    });
  return { clock, provisioner, agents, store, scaler: make(), make };
}

/** Two spot nodes launched for four jobs, their agents registered, one job running on each. */
async function twoBusyNodes(s: ReturnType<typeof setup>, agentByAddress = false) {
  s.agents.queued = preemptableJobs(4);
  await s.scaler.tick();
  const nodes = s.provisioner.live();
  if (nodes.length < 2) throw new Error(`expected 2 nodes, got ${nodes.length}`);
  for (const n of nodes) {
    s.agents.register(n.instanceId, true);
    if (agentByAddress) {
      // As on the local cloud and most Mesos clusters: the agent names its node by address only.
      const a = s.agents.agentsByInstance.get(n.instanceId)!;
      s.agents.agentsByInstance.set(n.instanceId, {
        agentId: a.agentId,
        hostname: n.privateIp!,
        preemptable: true,
        runningJobIds: [],
      });
    }
  }
  s.agents.queued = [];
  s.agents.place('j0', nodes[0]!.instanceId, s.clock.now());
  s.agents.place('j1', nodes[1]!.instanceId, s.clock.now());
  await s.scaler.tick();
  return nodes as [ProvisionedNode, ProvisionedNode];
}

const gone = (
  p: RecordingProvisioner,
  n: ProvisionedNode,
  state: 'shutting-down' | 'terminated',
  stateReason?: string,
): void => void p.nodes.set(n.instanceId, { ...n, state, ...(stateReason ? { stateReason } : {}) });

t.test('a node EC2 shows shutting-down: its jobs are lost and issued again in that same tick', async (t) => {
  const s = setup();
  const [victim, other] = await twoBusyNodes(s);
  const before = s.clock.now();
  gone(s.provisioner, victim, 'shutting-down');
  await s.scaler.tick();
  t.equal(s.clock.now(), before, 'no time passed: the tick that saw it gone declared the loss');
  t.match(
    s.agents.calls.filter((c) => c.startsWith('lost')),
    [
      new RegExp(
        `^lost agent-${victim.instanceId}: lost: its node ${victim.instanceId} is gone \\(spot reclaimed\\)`,
      ),
    ],
    'the gone node’s agent, and only it, was declared lost',
  );
  t.same(
    s.agents.queued.map((j) => j.id),
    ['j0'],
    'its job is issued again (queued), no retry spent',
  );
  t.same(
    s.agents.running.map((r) => r.id),
    ['j1'],
    'the job on the live node runs on',
  );
  t.same(s.agents.events.at(-1), {
    kind: 'lost',
    jobId: 'j0',
    name: 'job',
    agentId: `agent-${victim.instanceId}`,
  });
  t.notOk(s.store.state!.owned[victim.instanceId], 'the gone node is forgotten');
  t.ok(s.store.state!.owned[other.instanceId]);
  await s.scaler.tick();
  t.equal(s.agents.calls.filter((c) => c.startsWith('lost')).length, 1, 'declared once');
});

t.test(
  'a terminated node whose agent reports only its address: found by the address last seen',
  async (t) => {
    const s = setup();
    const [victim] = await twoBusyNodes(s, true);
    t.equal(
      s.store.state!.owned[victim.instanceId]!.privateIp,
      victim.privateIp,
      'its address is kept in the state',
    );
    gone(s.provisioner, victim, 'terminated');
    await s.scaler.tick();
    t.match(
      s.agents.calls.filter((c) => c.startsWith('lost')),
      [new RegExp(`^lost agent-${victim.instanceId}:`)],
    );
    t.same(
      s.agents.queued.map((j) => j.id),
      ['j0'],
    );
  },
);

t.test(
  'an agent cut off from the master with our jobs: lost in that tick; one merely absent (a master restarting) is not',
  async (t) => {
    const s = setup();
    const [cut, absent] = await twoBusyNodes(s);
    s.agents.disconnect(cut.instanceId);
    s.agents.agentsByInstance.delete(absent.instanceId);
    await s.scaler.tick();
    t.match(
      s.agents.calls.filter((c) => c.startsWith('lost')),
      [new RegExp(`^lost agent-${cut.instanceId}: lost: its agent agent-${cut.instanceId} lost touch`)],
      'only the disconnected agent',
    );
    t.same(
      s.agents.queued.map((j) => j.id),
      ['j0'],
    );
    t.ok(
      s.agents.running.some((r) => r.id === 'j1'),
      'the job on the unlisted agent is left to the master',
    );
    await s.scaler.tick();
    t.equal(s.agents.calls.filter((c) => c.startsWith('lost')).length, 1, 'declared once');
  },
);

t.test('a restarted leader does not drain the nodes it adopts before their jobs come back', async (t) => {
  const s = setup();
  s.agents.queued = preemptableJobs(1);
  await s.scaler.tick();
  const [node] = s.provisioner.live();
  s.agents.register(node!.instanceId, true);
  s.agents.queued = [];
  await s.scaler.tick();
  // The leader dies; ten minutes pass with the node idle (no leader to give it work).
  await s.clock.advance(600_000);
  const restarted = s.make();
  t.same((await restarted.restore()).adopted, [node!.instanceId]);
  await restarted.tick();
  t.same(s.agents.calls, [], 'not drained at the first tick after the restart');
  t.same(s.provisioner.terminateCalls, []);
  await s.clock.advance(61_000);
  await restarted.tick();
  t.ok(s.agents.calls.length > 0, 'drained once idle for idleGrace under this leader');
  t.ok(
    s.agents.calls.every((c) => c === `mark agent-${node!.instanceId}`),
    s.agents.calls.join(', '),
  );
});

t.test(
  'a spot node ended by someone else (EC2 says Client.UserInitiatedShutdown): its jobs are issued again, but it is not counted as reclaimed; one EC2 reclaimed is',
  async (t) => {
    const s = setup();
    const [terminated, reclaimed] = await twoBusyNodes(s);
    // Gone from the listing of live nodes, as EC2 lists them: only a listing of ended ones says why.
    gone(s.provisioner, terminated, 'terminated', 'Client.UserInitiatedShutdown');
    await s.scaler.tick();
    t.match(
      s.agents.calls.filter((c) => c.startsWith('lost')),
      [
        new RegExp(
          `^lost agent-${terminated.instanceId}: lost: its node ${terminated.instanceId} is gone \\(stopped or terminated: Client\\.UserInitiatedShutdown\\)`,
        ),
      ],
      'its job is lost, with the reason EC2 gave',
    );
    t.equal(s.store.state!.spotInterruptions ?? 0, 0, 'no spot interruption counted');
    t.notOk(s.store.state!.owned[terminated.instanceId], 'the gone node is forgotten');

    await s.clock.advance(60_000);
    gone(s.provisioner, reclaimed, 'terminated', 'Server.SpotInstanceTermination');
    await s.scaler.tick();
    t.match(
      s.agents.calls.filter((c) => c.startsWith('lost')).at(-1),
      new RegExp(`its node ${reclaimed.instanceId} is gone \\(spot reclaimed\\)`),
    );
    t.equal(s.store.state!.spotInterruptions, 1, 'the reclaim is counted');
    const exposure = s.store.state!.smoothing?.spotExposure;
    t.equal(
      exposure?.interruptions,
      1,
      'the cost policy saw the reclaim in its snapshot (measured spot risk)',
    );
    t.ok((exposure?.nodeSeconds ?? 0) >= 60, `and the spot node time before it (${exposure?.nodeSeconds} s)`);
  },
);
