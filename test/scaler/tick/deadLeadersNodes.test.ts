import t, { type Test } from 'tap';
import { createLogger } from '../../../src/common/log.js';
import { LEADER_HEARTBEAT_TAG, LEADER_TAG, readHeartbeat } from '../../../src/ports/leaderHeartbeat.js';
import { STATIC_WORKER_TAG, type Provisioner } from '../../../src/ports/provisioner.js';
import { ProvisionerError } from '../../../src/provisioner/errors.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import { localClusterWithLeader } from '../../fixtures/ec2Local.js';
import {
  FakeAgents,
  MemoryTickStore,
  capturedLog,
  preemptableJobs,
  tickTestConfig,
} from '../../fixtures/leaderFakes.js';

/**
 * Worker instances of a leader that is gone (killed with -9, never resumed) are retired by another
 * leader of the cluster once that leader's heartbeat has gone stale; instances of a leader that
 * still beats, and instances with no leader mark at all, are kept. Two leaders' scalers share one
 * cluster on the local EC2 endpoint through the real SDK client, on one stepped clock.
 */
const MIN = 60_000;
// A beat every 5 min, retired after 3 missed beats plus 2 min for clock skew: 17 min after the last beat.
const TICK = { leaderHeartbeat: '5m', leaderHeartbeatMisses: 3, leaderClockSkew: '2m' };

async function cluster(t: Test, name: string) {
  const { clock, provisioner } = await localClusterWithLeader(t, name);
  // The cluster manager (one Mesos master) every leader of the cluster reads.
  const agents = new FakeAgents();
  /** A leader of the cluster: its scaler, its own state, its log. */
  const leader = (
    id: string,
    scaler: Record<string, unknown> = {},
    tick: Record<string, unknown> = {},
    through: Provisioner = provisioner,
  ) => {
    const store = new MemoryTickStore();
    const { destination, lines } = capturedLog();
    const cfg = tickTestConfig(
      { nodeTypes: ['t2.medium'], maxNodes: 1, idleGrace: '1h', ...scaler },
      { ...TICK, ...tick },
    );
    const make = (newId = id, via = through) =>
      new ClusterScaler({
        provisioner: via,
        cluster: agents,
        store,
        clock,
        log: createLogger({ level: 'info', destination }),
        config: () => cfg,
        newLeaderId: () => newId,
      });
    return { agents, store, lines, scaler: make(), make };
  };
  const workers = async () => provisioner.listNodes({ role: 'worker' });
  return { clock, provisioner, agents, leader, workers };
}

/** The provisioner with some calls answered otherwise (`over`), the rest passed through. */
function answering(p: Provisioner, over: Partial<Provisioner>): Provisioner {
  return new Proxy(p, {
    get: (target, key, receiver): unknown =>
      Object.hasOwn(over, key)
        ? over[key as keyof Provisioner]
        : (Reflect.get(target, key, receiver) as unknown),
  });
}

const notAuthorised = () =>
  Promise.reject(new ProvisionerError('NOT_AUTHORISED', 'EC2 CreateTags failed: UnauthorizedOperation'));

/** A leader keeping one node (minNodes 1) whose agent registered: it never retires it itself. */
async function leaderWithANode(c: Awaited<ReturnType<typeof cluster>>, id: string) {
  const a = c.leader(id, { minNodes: 1 });
  await a.scaler.restore();
  await a.scaler.tick();
  const [node] = Object.keys(a.scaler.persisted.owned);
  if (!node) throw new Error(`leader ${id} launched nothing`);
  a.agents.register(node);
  return { ...a, node };
}

/** A worker as `launch-cluster --workers` starts one (tagged as the cluster's static capacity). */
async function launchStaticWorker(c: Awaited<ReturnType<typeof cluster>>, clientToken: string) {
  const { nodes } = await c.provisioner.launch({
    offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
    count: 1,
    clientToken,
    staticWorker: true,
  });
  return nodes;
}

/** Another leader started on the cluster ticks every hour for a day and never retires `node`. */
async function keptForADay(t: Test, c: Awaited<ReturnType<typeof cluster>>, node: string) {
  const b = c.leader('leader-b');
  await b.scaler.restore();
  for (let h = 0; h < 24; h++) {
    const { report } = await b.scaler.tick();
    t.same(report.retired, [], `hour ${h}: kept`);
    await c.clock.advance(60 * MIN);
  }
  t.same(
    (await c.workers()).map((n) => n.instanceId),
    [node],
    'still running a day later',
  );
  return b;
}

t.test(
  'a leader marks the instances it launches in the launch itself, and renews the beat every interval',
  async (t) => {
    const c = await cluster(t, 'beats');
    const launchedAt = c.clock.now();
    const a = await leaderWithANode(c, 'leader-a');
    const beatOf = async () => readHeartbeat((await c.workers()).find((n) => n.instanceId === a.node)!.tags);
    t.same(
      await beatOf(),
      { leaderId: 'leader-a', at: launchedAt, everyMs: 5 * MIN },
      'marked at its launch',
    );
    // Ticks every minute: the beat is renewed once 5 min have passed, not at every tick.
    for (let m = 1; m <= 11; m++) {
      await c.clock.advance(MIN);
      await a.scaler.tick();
    }
    t.same(
      await beatOf(),
      { leaderId: 'leader-a', at: launchedAt + 10 * MIN, everyMs: 5 * MIN },
      'the beat of minute 10',
    );
    // A restarted leader is the same leader: it keeps its id and beats at its first tick.
    const again = a.make('a-new-id');
    await again.restore();
    t.equal(again.leaderId, 'leader-a', 'the id is kept in the tick state');
    await again.tick();
    t.same(
      await beatOf(),
      { leaderId: 'leader-a', at: launchedAt + 11 * MIN, everyMs: 5 * MIN },
      'beaten at once',
    );
  },
);

t.test(
  "a live leader's instance is kept through many ticks of another leader; once its leader stops beating it is retired",
  async (t) => {
    const c = await cluster(t, 'gone');
    const a = await leaderWithANode(c, 'leader-a');
    const b = c.leader('leader-b');
    await b.scaler.restore();
    // Both leaders tick every minute for 30 min: a's beat stays fresh, so b keeps a's node.
    for (let m = 0; m < 30; m++) {
      await a.scaler.tick();
      const { report } = await b.scaler.tick();
      t.same(report.retired, [], `minute ${m}: nothing retired`);
      await c.clock.advance(MIN);
    }
    t.same(
      (await c.workers()).map((n) => n.instanceId),
      [a.node],
      "a's node still runs",
    );
    t.match(b.scaler.leaderMarks.get(a.node), { kind: 'live', beat: { leaderId: 'leader-a' } });
    t.match(
      b.lines.find((l) => l.msg.includes('did not launch'))?.msg,
      new RegExp(`${a.node}: its leader leader-a beat \\d+ s ago, so it lives`),
      'b names it once as a live leader’s',
    );

    // a is killed: it beats no more. Its last beat was at minute 30 (it beats every 5 min).
    const lastBeat = readHeartbeat((await c.workers())[0]!.tags)!.at;
    while (c.clock.now() <= lastBeat + 17 * MIN) {
      const { report } = await b.scaler.tick();
      t.same(
        report.retired,
        [],
        `${Math.round((c.clock.now() - lastBeat) / MIN)} min after the last beat: kept`,
      );
      await c.clock.advance(MIN);
    }
    const { report } = await b.scaler.tick();
    t.same(report.retired, [a.node], 'retired once 3 beats and the skew margin have passed');
    t.same(await c.workers(), [], 'terminated through the provisioner');
    t.same(c.agents.removed, [`agent-${a.node}`], 'and removed from the cluster manager first');
    const line = b.lines.find((l) => l.msg.startsWith('retiring worker instance'));
    t.equal(line?.level, 40, 'a warning');
    t.match(
      line?.msg,
      new RegExp(
        `^retiring worker instance ${a.node} \\(t2\\.medium on-demand, \\$0\\.\\d{4}/h, up \\d+ min\\) of a leader that is gone: ` +
          `its leader leader-a stopped beating: last beat ${new Date(lastBeat).toISOString()} \\(18 min ago; it beats every 300 s, ` +
          'and an instance is retired after 3 missed beats plus 120 s for clock skew\\)',
      ),
    );
    t.match(
      b.scaler.retired,
      [{ id: a.node, leaderId: 'leader-a', lastBeatAt: lastBeat }],
      'kept for /status',
    );
    t.same(b.scaler.unowned, [], 'no longer named as kept');
  },
);

t.test(
  'a leader gone between its launch and any later call leaves its instance marked: another leader retires it once stale',
  async (t) => {
    const c = await cluster(t, 'atlaunch');
    // Its process dies the moment EC2 launched: nothing after the launch reaches EC2.
    let dead = false;
    const a = c.leader(
      'leader-a',
      { minNodes: 1 },
      {},
      answering(c.provisioner, {
        launch: async (r) => {
          const out = await c.provisioner.launch(r);
          dead = true;
          return out;
        },
        markLeaderLive: (ids, beat) => (dead ? notAuthorised() : c.provisioner.markLeaderLive(ids, beat)),
      }),
    );
    await a.scaler.restore();
    const launchedAt = c.clock.now();
    await a.scaler.tick();
    const [node] = await c.workers();
    t.ok(node, 'launched');
    t.same(
      readHeartbeat(node!.tags),
      { leaderId: 'leader-a', at: launchedAt, everyMs: 5 * MIN },
      'the mark came with the launch',
    );
    const b = c.leader('leader-b');
    await b.scaler.restore();
    while (c.clock.now() <= launchedAt + 17 * MIN) {
      const { report } = await b.scaler.tick();
      t.same(
        report.retired,
        [],
        `${Math.round((c.clock.now() - launchedAt) / MIN)} min after the launch: kept`,
      );
      await c.clock.advance(MIN);
    }
    const { report } = await b.scaler.tick();
    t.same(report.retired, [node!.instanceId], 'retired once its leader’s mark is stale');
    t.same(await c.workers(), [], 'nothing left running');
  },
);

/**
 * A leader whose tick sent one launch and died there: through `reach`, the call made the
 * instance (true) or never reached EC2 (false); either way no answer came. Resolves once sent.
 */
async function diedAtItsLaunch(c: Awaited<ReturnType<typeof cluster>>, reach: boolean) {
  let launched!: () => void;
  const sent = new Promise<void>((r) => (launched = r));
  const a = c.leader(
    'leader-a',
    { minNodes: 1 },
    {},
    answering(c.provisioner, {
      launch: async (r) => {
        if (reach) await c.provisioner.launch(r);
        launched();
        return new Promise(() => {});
      },
    }),
  );
  await a.scaler.restore();
  void a.scaler.tick();
  await sent;
  return a;
}

t.test(
  'a launch whose answer never came is sent again after a restart with the mark it first carried, and adopted',
  async (t) => {
    const c = await cluster(t, 'resend');
    // The leader dies while EC2 launches: the answer never reaches it.
    const a = await diedAtItsLaunch(c, true);
    // Restarted while its mark has more than half its window (8.5 min) left: sent again.
    await c.clock.advance(5 * MIN);
    const again = a.make('leader-a', c.provisioner);
    const { adopted } = await again.restore();
    const [node] = await c.workers();
    t.same(adopted, [node?.instanceId], 'EC2 took the same token with the same tags: one instance, adopted');
    t.same(
      a.lines.filter((l) => l.msg.includes('failed when re-sent')),
      [],
      'no error',
    );
    t.match(readHeartbeat(node!.tags), { leaderId: 'leader-a', everyMs: 5 * MIN }, 'marked at its launch');
  },
);

t.test(
  'a launch that never reached EC2, its mark too old at a long restart, is not sent again with that mark: no instance is born stale',
  async (t) => {
    const c = await cluster(t, 'neverreached');
    const a = await diedAtItsLaunch(c, false);
    t.equal(a.store.state?.pendingLaunches.length, 1, 'its launch unanswered, with its mark');
    // Restarted 20 min later: the mark it carried is stale (17 min) to any other leader.
    await c.clock.advance(20 * MIN);
    const b = c.leader('leader-b');
    await b.scaler.restore();
    const again = a.make('leader-a', c.provisioner);
    const { adopted } = await again.restore();
    t.same(adopted, [], 'nothing to adopt');
    t.same(await c.workers(), [], 'not sent again with its old mark');
    t.same(again.persisted.pendingLaunches, [], 'dropped: it never launched');
    await again.tick();
    const [node] = await c.workers();
    t.ok(node, "the plan launches what the work needs, at the restarted leader's first tick");
    t.same(
      readHeartbeat(node!.tags),
      { leaderId: 'leader-a', at: c.clock.now(), everyMs: 5 * MIN },
      'with a fresh mark',
    );
    const { report } = await b.scaler.tick();
    t.same(report.retired, [], 'another leader keeps it');
    t.equal((await c.workers()).length, 1, 'one instance, running');
  },
);

t.test(
  'an instance adopted at a long restart is found by its client token and beaten at once, before another leader could retire it',
  async (t) => {
    const c = await cluster(t, 'adoptstale');
    const a = await diedAtItsLaunch(c, true);
    const [node] = await c.workers();
    await c.clock.advance(20 * MIN);
    const b = c.leader('leader-b');
    await b.scaler.restore();
    const again = a.make('leader-a', c.provisioner);
    const { adopted } = await again.restore();
    t.same(adopted, [node!.instanceId], 'the instance its first call made, adopted');
    t.same(
      readHeartbeat((await c.workers())[0]!.tags),
      { leaderId: 'leader-a', at: c.clock.now(), everyMs: 5 * MIN },
      'beaten as it is adopted',
    );
    const { report } = await b.scaler.tick();
    t.same(report.retired, [], 'another leader keeps it');
    t.same(
      (await c.workers()).map((n) => n.instanceId),
      [node!.instanceId],
      'still running, and only it',
    );
  },
);

t.test(
  'a stopping leader releases the instance of a launch it never heard back from, found by its mark',
  async (t) => {
    const c = await cluster(t, 'unheard');
    const a = c.leader(
      'leader-a',
      { minNodes: 1 },
      { maxAttempts: 1 },
      answering(c.provisioner, {
        // EC2 launched, and the answer was lost on the way back.
        launch: async (r) => {
          await c.provisioner.launch(r);
          throw new ProvisionerError('EC2_UNAVAILABLE', 'EC2 RunInstances failed: socket hang up');
        },
      }),
    );
    await a.scaler.restore();
    await a.scaler.tick();
    const [node] = await c.workers();
    t.ok(node, 'EC2 launched it');
    t.same(a.scaler.persisted.owned, {}, 'the leader does not know it');
    t.equal(a.scaler.persisted.pendingLaunches.length, 1, 'its launch unanswered');
    t.same(await a.scaler.releaseOwned(), [node!.instanceId], 'released at the stop');
    t.same(await c.workers(), [], 'nothing left running');
    t.same(a.scaler.persisted.pendingLaunches, [], 'the launch is done with');
  },
);

t.test(
  'a leader whose beat failed once (throttled) still marks its launches once the dry run says it may',
  async (t) => {
    const c = await cluster(t, 'throttled');
    let throttle = false;
    const a = c.leader(
      'leader-a',
      { minNodes: 1 },
      { maxAttempts: 1 },
      answering(c.provisioner, {
        markLeaderLive: (ids, beat) =>
          throttle
            ? Promise.reject(new ProvisionerError('THROTTLED', 'EC2 CreateTags failed: RequestLimitExceeded'))
            : c.provisioner.markLeaderLive(ids, beat),
      }),
    );
    await a.scaler.restore();
    await a.scaler.tick();
    throttle = true;
    await c.clock.advance(6 * MIN);
    const { report } = await a.scaler.tick();
    t.match(report.errors, [{ action: 'markLeaderLive', code: 'THROTTLED' }], 'its beat failed');
    // Its node gone, it launches another: marked, the dry run having said yes.
    await c.provisioner.terminate((await c.workers()).map((n) => n.instanceId));
    await c.clock.advance(MIN);
    await a.scaler.tick();
    const [node] = await c.workers();
    t.match(readHeartbeat(node!.tags), { leaderId: 'leader-a', at: c.clock.now() }, 'marked at its launch');
  },
);

t.test(
  'a leader that may not write its mark launches unmarked, says so once and asks again every interval; its instance is never retired',
  async (t) => {
    const c = await cluster(t, 'nomark');
    let checks = 0;
    const a = c.leader(
      'leader-a',
      { minNodes: 1 },
      {},
      answering(c.provisioner, {
        checkLeaderMark: () => {
          checks++;
          return notAuthorised();
        },
        markLeaderLive: notAuthorised,
      }),
    );
    await a.scaler.restore();
    await a.scaler.tick();
    const [node] = await c.workers();
    t.ok(node, 'launched all the same');
    t.equal(node!.tags[LEADER_TAG], undefined, 'unmarked');
    t.equal(checks, 1, 'asked before its launch');
    const said = a.lines.filter((l) => l.msg.startsWith('this leader may not write its heartbeat'));
    t.equal(said.length, 1, 'said once');
    t.match(
      said[0]?.msg,
      'it launches them unmarked, and no other leader of the cluster retires an unmarked instance',
    );
    // Its node gone (terminated by hand), it launches again, unmarked: within the interval without
    // asking again, after it asking again (its beats fail too, so they prove nothing); still
    // refused, it says nothing more.
    const replace = async () => {
      await c.provisioner.terminate((await c.workers()).map((n) => n.instanceId));
      await a.scaler.tick();
    };
    await c.clock.advance(MIN);
    await replace();
    t.equal(checks, 1, 'within the interval: not asked again');
    await c.clock.advance(6 * MIN);
    await replace();
    t.equal(checks, 2, 'after it: asked again');
    t.equal(a.lines.filter((l) => l.msg.startsWith('this leader may not write its heartbeat')).length, 1);
    const [last] = await c.workers();
    t.equal(last!.tags[LEADER_TAG], undefined, 'unmarked');
    await keptForADay(t, c, last!.instanceId);
  },
);

t.test('an instance with no leader mark is only named, never retired', async (t) => {
  const c = await cluster(t, 'static');
  // As launch-cluster --workers, or a leader of an older version, leaves it: no leader mark.
  const { nodes } = await c.provisioner.launch({
    offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
    count: 1,
    clientToken: 'static-w',
  });
  const id = nodes[0]!.instanceId;
  c.agents.register(id);
  const b = await keptForADay(t, c, id);
  t.equal((await c.workers())[0]!.tags[LEADER_TAG], undefined, 'b marked nothing it did not launch');
  const told = b.lines.filter((l) => l.msg.includes('did not launch'));
  t.equal(told.length, 1, 'named once');
  t.match(told[0]?.msg, `${id}: no leader mark (launched by launch-cluster --workers`);
  t.match(told[0]?.msg, 'never retired automatically');
});

t.test(
  "a worker launch-cluster --workers started is the cluster's static capacity: said once at INFO, not warned of, kept",
  async (t) => {
    const c = await cluster(t, 'workers');
    const nodes = await launchStaticWorker(c, 'workers-w0');
    const id = nodes[0]!.instanceId;
    t.equal(nodes[0]!.tags[STATIC_WORKER_TAG], 'launch-cluster', 'tagged at launch, through EC2');
    c.agents.register(id);
    const b = await keptForADay(t, c, id);
    t.same(b.scaler.unowned, [], 'not listed as an instance of unknown origin');
    t.same(
      b.lines.filter((l) => l.level >= 40 || l.msg.includes('did not launch')).map((l) => l.msg),
      [],
      'no warning',
    );
    const told = b.lines.filter((l) => l.msg.includes('static worker'));
    t.equal(told.length, 1, 'said once');
    t.match(told[0]?.msg, `1 static worker(s) of launch-cluster --workers: ${id} (t2.medium on-demand`);
    t.match(told[0]?.msg, 'kept, as launched');
  },
);

t.test('tick.retireDeadLeadersNodes: false keeps a stopped leader’s instance and says so', async (t) => {
  const c = await cluster(t, 'off');
  const a = await leaderWithANode(c, 'leader-a');
  const b = c.leader('leader-b', {}, { retireDeadLeadersNodes: false });
  await b.scaler.restore();
  await c.clock.advance(60 * MIN);
  const { report } = await b.scaler.tick();
  t.same(report.retired, [], 'not retired');
  t.same(
    (await c.workers()).map((n) => n.instanceId),
    [a.node],
  );
  t.match(
    b.lines.find((l) => l.msg.includes('did not launch'))?.msg,
    `${a.node}: its leader leader-a stopped beating (last beat 3600 s ago), and tick.retireDeadLeadersNodes is false`,
  );
  t.ok((await c.workers())[0]!.tags[LEADER_HEARTBEAT_TAG], 'the mark is there');
});

t.test(
  'a leader that stops keeping its nodes marks them kept: another leader never retires them, and the restarted leader beats again',
  async (t) => {
    const c = await cluster(t, 'kept');
    const a = await leaderWithANode(c, 'leader-a');
    await c.clock.advance(MIN);
    const stoppedAt = c.clock.now();
    await a.scaler.keepOwned();
    const mark = async () => readHeartbeat((await c.workers())[0]!.tags);
    t.same(await mark(), { leaderId: 'leader-a', at: stoppedAt, everyMs: 0, kept: true }, 'marked kept');
    const b = await keptForADay(t, c, a.node);
    t.match(
      b.lines.find((l) => l.msg.includes('did not launch'))?.msg,
      `${a.node}: its leader leader-a stopped 0 s ago and kept it on purpose (--keepNodes, shutdown.releaseNodes: false)`,
    );
    const again = a.make();
    await again.restore();
    await again.tick();
    t.same(
      await mark(),
      { leaderId: 'leader-a', at: c.clock.now(), everyMs: 5 * MIN },
      'the restarted leader beats over the kept mark',
    );
  },
);

t.test(
  'a static worker whose agent never registers is kept past bootTimeout, warned of once, and its work gets a node of ours',
  async (t) => {
    const c = await cluster(t, 'stuck');
    const nodes = await launchStaticWorker(c, 'stuck-w0');
    const id = nodes[0]!.instanceId;
    const b = c.leader('leader-b', { maxNodes: 2 });
    await b.scaler.restore();
    for (let h = 0; h < 24; h++) {
      const { report } = await b.scaler.tick();
      t.notOk(report.terminated.includes(id), `hour ${h}: not terminated`);
      await c.clock.advance(60 * MIN);
    }
    t.ok(
      (await c.workers()).some((n) => n.instanceId === id),
      'still running a day later',
    );
    const warned = b.lines.filter((l) => l.level === 40 && l.msg.includes('never registered'));
    t.equal(warned.length, 1, 'warned of once');
    t.match(
      warned[0]?.msg,
      `1 static instance(s) this leader did not launch never registered as agents within bootTimeout 5m00s: ${id} (t2.medium on-demand`,
    );
    t.match(warned[0]?.msg, 'kept (static capacity is not the scaler');
    // Work queued now is planned onto a node of ours, not onto the one that never registered.
    b.agents.queued = [{ ...preemptableJobs(1)[0]!, preemptable: false }];
    const { report } = await b.scaler.tick();
    t.equal(report.launched.length, 1, 'a node launched for the queued job');
    t.match(
      report.plan.notes.join('\n'),
      /1 static node\(s\) never registered as agents/,
      "the plan's notes name it",
    );
  },
);

t.test(
  'a cluster with no leader instance is said once, with what to check, not as missing permissions and without a stack',
  async (t) => {
    const c = await cluster(t, 'nocluster');
    const a = c.leader(
      'leader-a',
      { minNodes: 1 },
      {},
      answering(c.provisioner, {
        checkLeaderMark: () =>
          Promise.reject(new ProvisionerError('CLUSTER_NOT_FOUND', "cluster 'nope' has no leader instance")),
      }),
    );
    await a.scaler.restore();
    await a.scaler.tick();
    const said = a.lines.filter((l) => l.msg.startsWith('this leader cannot write its heartbeat'));
    t.equal(said.length, 1, 'said once');
    t.equal(
      said[0]?.msg,
      "this leader cannot write its heartbeat: cluster 'nope' has no leader instance; its launches will fail the same way until the cluster exists: check --clusterName and --zone (toil launch-cluster makes the cluster)",
    );
    t.notMatch(said[0]?.msg ?? '', /CreateTags/, 'no word of permissions');
    t.equal(
      (said[0] as Record<string, unknown> | undefined)?.['err'],
      undefined,
      'no error object (its stack) logged',
    );
    t.equal((said[0] as Record<string, unknown> | undefined)?.['code'], 'CLUSTER_NOT_FOUND');
  },
);
