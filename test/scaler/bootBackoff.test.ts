import t from 'tap';
import { BASE_BACKOFF_MS, MAX_BACKOFF_MS } from '../../src/scaler/cost/bootBackoff.js';
import { offeringKey } from '../../src/scaler/offerings.js';
import { planScaling } from '../../src/scaler/policy.js';
import type { ExistingNode, ScalerState, ScalingPlan } from '../../src/scaler/types.js';
import { config, jobs, node, NOW, snapshot } from './fixtures/scaler.js';

const MIN = 60_000;
/** bootTimeout 15 m by default: a node launched 20 m ago that is still booting never registered. */
const lost = (id: string, over: Partial<ExistingNode> = {}): ExistingNode =>
  node(id, { state: 'booting', launchedAt: NOW - 20 * MIN, registeredAt: undefined, ...over });

const cfg = config({ nodeTypes: 'c5.large,c5.xlarge', zones: ['us-east-1a'] });
const CHEAP = offeringKey('c5.large', 'us-east-1a', 'on-demand');

function plan(nodes: ExistingNode[], state: ScalerState | undefined, now = NOW): ScalingPlan {
  return planScaling(
    snapshot({ now, nodes, queued: jobs(2, { walltimeSeconds: 600 }), ...(state ? { state } : {}) }),
    cfg,
  );
}
const launched = (p: ScalingPlan): string[] => p.launch.map((l) => `${l.count}×${l.instanceType}`);

t.test('an offering whose nodes never register is backed off, then tried again', async (t) => {
  // Row by row, each tick carrying the last one's state.
  const first = plan([lost('a')], undefined);
  t.same(
    first.terminate.map((x) => x.nodeId),
    ['a'],
  );
  t.same(launched(first), ['1×c5.large'], 'one failure is the weather: replaced on the same offering');
  t.match(first.terminate[0]!.reason, /; replacing it$/);

  const later = NOW + 20 * MIN;
  const second = plan([lost('b', { launchedAt: NOW })], first.state, later);
  t.same(
    launched(second),
    ['1×c5.xlarge'],
    'two in a row: the offering is backed off, the next one takes the work',
  );
  t.match(
    second.terminate[0]!.reason,
    /^never registered within bootTimeout 15m00s \(launched 20m00s ago\); 2 nodes of c5\.large\/us-east-1a\/on-demand in a row never registered: none is launched there until 2026-01-01T12:25:00\.000Z \(check the image, the user data and that workers reach the master\)$/,
    'the terminate reason says the backoff, not "replacing it"',
  );
  t.equal(second.state.bootFailures?.[CHEAP]?.count, 2);

  const during = plan([], second.state, later + BASE_BACKOFF_MS - MIN);
  t.notOk(
    during.launch.some((l) => l.instanceType === 'c5.large'),
    'nothing launched on the offering during its backoff',
  );
  const after = plan([], second.state, later + BASE_BACKOFF_MS + MIN);
  t.same(launched(after), ['1×c5.large'], 'after the backoff, the cheapest offering is tried again');
});

t.test('what ends or does not count in a run of boot failures', async (t) => {
  const rows: {
    name: string;
    /** The first tick's nodes, then the second's (20 minutes later). */
    ticks: [ExistingNode[], ExistingNode[]];
    count: number | undefined;
  }[] = [
    {
      name: 'a node of the offering registering between two failures: no run, no backoff',
      ticks: [[lost('a')], [lost('b', { launchedAt: NOW }), node('ok', { registeredAt: NOW + 10 * MIN })]],
      count: 1,
    },
    {
      name: 'a node of another offering registering does not end the offering’s run',
      ticks: [
        [lost('a')],
        [
          lost('b', { launchedAt: NOW }),
          node('ok', { instanceType: 'c5.xlarge', registeredAt: NOW + 10 * MIN }),
        ],
      ],
      count: 2,
    },
    {
      name: 'a failed node still listed a tick later (its terminate not done yet) is counted once',
      ticks: [[lost('a')], [lost('a')]],
      count: 1,
    },
    {
      name: 'a static node that never registered is the operator’s: not counted',
      ticks: [[lost('s', { static: true })], [lost('t', { static: true, launchedAt: NOW })]],
      count: undefined,
    },
  ];
  for (const row of rows) {
    const first = plan(row.ticks[0], undefined);
    const second = plan(row.ticks[1], first.state, NOW + 20 * MIN);
    t.equal(second.state.bootFailures?.[CHEAP]?.count, row.count, row.name);
  }
});

t.test('the backoff doubles with each failure in a row, up to an hour', async (t) => {
  let state: ScalerState | undefined;
  let now = NOW;
  const untils: number[] = [];
  for (let i = 0; i < 8; i++) {
    const p = plan([lost(`n${i}`, { launchedAt: now - 20 * MIN })], state, now);
    state = p.state;
    const reason = p.terminate[0]!.reason;
    const m = / until (\S+) /.exec(reason);
    untils.push(m ? (Date.parse(m[1]!) - now) / MIN : 0);
    now += 2 * MAX_BACKOFF_MS + MIN;
  }
  // Two hours apart each, with bootTimeout 15m: a run that old is forgotten, so each failure starts a new run.
  t.same(untils, [0, 0, 0, 0, 0, 0, 0, 0], 'failures two hours apart never make a run');

  state = undefined;
  now = NOW;
  untils.length = 0;
  for (let i = 0; i < 8; i++) {
    const p = plan([lost(`m${i}`, { launchedAt: now - 20 * MIN })], state, now);
    state = p.state;
    const m =
      /c5\.large\/us-east-1a\/on-demand in a row never registered: none is launched there until (\S+) /.exec(
        p.terminate[0]!.reason,
      );
    untils.push(m ? (Date.parse(m[1]!) - now) / MIN : 0);
    now += 25 * MIN;
  }
  t.same(untils, [0, 5, 10, 20, 40, 60, 60, 60], 'minutes of backoff after the 1st … 8th failure in a row');

  // bootTimeout 1 h: a relaunch after the hour-long backoff fails two hours after the last
  // failure; the run is kept, so the backoff stays at its longest instead of starting over.
  const slow = config({ nodeTypes: 'c5.large,c5.xlarge', zones: ['us-east-1a'], bootTimeout: '1h' });
  state = undefined;
  now = NOW;
  untils.length = 0;
  for (let i = 0; i < 8; i++) {
    const p = planScaling(
      snapshot({
        now,
        nodes: [lost(`s${i}`, { launchedAt: now - 61 * MIN })],
        queued: jobs(2, { walltimeSeconds: 600 }),
        ...(state ? { state } : {}),
      }),
      slow,
    );
    state = p.state;
    const m = /on-demand in a row never registered: none is launched there until (\S+) /.exec(
      p.terminate[0]!.reason,
    );
    untils.push(m ? (Date.parse(m[1]!) - now) / MIN : 0);
    now += 2 * MAX_BACKOFF_MS + MIN;
  }
  t.same(untils, [0, 5, 10, 20, 40, 60, 60, 60], 'with bootTimeout 1h, failures 2 h apart still make a run');
});

t.test('nodes of every offering failing in a row back off every launch, and the wait says why', async (t) => {
  let state: ScalerState | undefined;
  let now = NOW;
  const types = ['c5.large', 'c5.xlarge', 'c5.large', 'c5.xlarge'];
  let p: ScalingPlan | undefined;
  for (const [i, instanceType] of types.entries()) {
    // Each failure on an offering not yet backed off, alternating: no offering has two in a row
    // until the third.
    p = plan([lost(`x${i}`, { instanceType, launchedAt: now - 20 * MIN })], state, now);
    state = p.state;
    now += 20 * MIN;
  }
  t.equal(state?.bootFailures?.['*']?.count, 4, 'four in a row over the cluster');
  t.same(p!.launch, [], 'nothing launched');
  t.equal(p!.waiting.length, 1);
  t.match(
    p!.waiting[0]!.reason,
    /^every offering that fits is unavailable \(4 nodes in a row never registered: no node is launched until \S+ \(check the image, the user data and that workers reach the master\)\)$/,
    'the cluster-wide backoff named',
  );
  t.ok(
    p!.notes.some((n) => n.startsWith('4 nodes in a row never registered: no node is launched until')),
    'and in the notes',
  );
  const laterStill = plan([], state, now + MAX_BACKOFF_MS + MIN);
  t.ok(laterStill.launch.length > 0, 'launched again once the backoffs are over');
});
