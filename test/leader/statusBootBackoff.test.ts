import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { bootBackoffDecision } from '../../src/leader/statusPage.js';
import { bootBackoffViews } from '../../src/scaler/cost/bootBackoff.js';
import { fakeDaemonDeps, tickTestConfig } from '../fixtures/leaderFakes.js';

/**
 * A daemon whose nodes boot and never join (no agent ever registers: a broken image, say) backs
 * its launches off. An operator who is not reading the log must see it: /status names the runs
 * of failures and until when launches are held back, the page's decisions lead with it, and
 * /metrics has series a monitor can page on.
 */
interface BootBackoffStatus {
  bootBackoffs?: {
    runs: { offering: string; neverRegisteredInARow: number; lastAt: string; backedOffUntil?: string }[];
    check: string;
  };
  decisions: { kind: string; what: string; reason: string }[];
}

t.test(
  'a daemon backing off launches after nodes that never joined says so in /status, its decisions and /metrics',
  async (t) => {
    const clock = new ManualClock();
    const config = tickTestConfig({ nodeTypes: ['t2.medium'], minNodes: 1, bootTimeout: '5m' });
    const deps = fakeDaemonDeps(clock, { ...config, http: { ...config.http, port: 0 } });
    const leader = new LeaderDaemon({
      ...deps,
      newBatchSystem: () => {
        throw new Error('no workflow in this test');
      },
      runWorkflow: () => Promise.reject(new Error('no workflow in this test')),
    });
    const url = await leader.start();
    t.teardown(() => leader.stop());
    const status = async (): Promise<BootBackoffStatus> =>
      (await (await fetch(`${url}/status`)).json()) as BootBackoffStatus;
    const metric = async (name: string, offering: string): Promise<number | undefined> => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = new RegExp(`^${name}\\{offering="${offering.replace(/[.*]/g, '\\$&')}"\\} (\\S+)$`, 'm').exec(
        text,
      );
      return m ? Number(m[1]) : undefined;
    };

    // Before any failure: nothing shown.
    await clock.advance(30_000);
    t.equal(deps.provisioner.live().length, 1, 'minNodes launched a node');
    t.equal((await status()).bootBackoffs, undefined, 'no runs of failures, no field');
    t.equal(await metric('toil_launch_backoff_seconds', '*'), undefined, 'no backoff series');

    // One failure: counted, not yet backed off.
    await clock.advance(6 * 60_000);
    const one = await status();
    t.match(
      one.bootBackoffs?.runs,
      [{ offering: '*', neverRegisteredInARow: 1 }],
      'one node never registered',
    );
    t.notOk(
      one.bootBackoffs?.runs.some((r) => r.backedOffUntil !== undefined),
      'one failure is the weather: nothing backed off',
    );
    t.equal(await metric('toil_nodes_never_registered', '*'), 1);
    t.equal(await metric('toil_launch_backoff_seconds', '*'), undefined);
    t.notOk(
      one.decisions[0]?.what.startsWith('launches held back'),
      'no standing decision without a backoff',
    );

    // Until the whole cluster is backed off (four in a row).
    let held: BootBackoffStatus | undefined;
    for (let m = 0; m < 120 && !held; m++) {
      await clock.advance(60_000);
      const s = await status();
      if (s.bootBackoffs?.runs.some((r) => r.offering === '*' && r.backedOffUntil !== undefined)) held = s;
    }
    if (!held) {
      t.fail('the cluster was never backed off');
      return;
    }
    const cluster = held.bootBackoffs!.runs[0]!;
    t.equal(cluster.offering, '*', 'the cluster-wide run first');
    t.equal(cluster.neverRegisteredInARow, 4, 'backed off at the fourth failure in a row');
    const left = (Date.parse(cluster.backedOffUntil!) - clock.now()) / 1000;
    t.ok(left > 0 && left <= 300, `the first cluster backoff is at most 5 minutes (${left} s left)`);
    t.match(
      held.bootBackoffs!.runs.find((r) => r.offering === 't2.medium/us-west-2a/on-demand'),
      { neverRegisteredInARow: 4 },
      'the offering’s own run too',
    );
    t.equal(held.bootBackoffs!.check, 'check the image, the user data and that workers reach the master');
    t.match(
      held.decisions[0],
      {
        kind: 'waiting',
        what: `launches held back: no node is launched until ${cluster.backedOffUntil}`,
        reason:
          '4 nodes in a row booted and never registered within bootTimeout; check the image, the user data and that workers reach the master',
      },
      'the page’s decisions lead with the backoff',
    );
    t.equal(await metric('toil_nodes_never_registered', '*'), 4);
    const gauge = await metric('toil_launch_backoff_seconds', '*');
    t.ok(
      gauge !== undefined && gauge > 0 && gauge <= 300,
      `toil_launch_backoff_seconds{offering="*"} ${gauge}`,
    );
    t.ok(
      (await metric('toil_launch_backoff_seconds', 't2.medium/us-west-2a/on-demand')) !== undefined,
      'the offering’s backoff has its own series',
    );
  },
);

t.test('the standing decision names what is held back, by the runs of failures', async (t) => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  const min = 60_000;
  const rows: {
    name: string;
    runs: Record<string, { count: number; lastAt: number; lastLaunchAt: number }>;
    want?: { what: string; reason: string };
  }[] = [
    { name: 'no runs: nothing', runs: {} },
    {
      name: 'one failure of an offering and of the cluster: below both thresholds, nothing',
      runs: {
        '*': { count: 1, lastAt: now - min, lastLaunchAt: now - 7 * min },
        'm5.large/us-west-2a/spot': { count: 1, lastAt: now - min, lastLaunchAt: now - 7 * min },
      },
    },
    {
      name: 'two of one offering: that offering alone, for 5 minutes after the last',
      runs: {
        '*': { count: 2, lastAt: now - min, lastLaunchAt: now - 7 * min },
        'm5.large/us-west-2a/spot': { count: 2, lastAt: now - min, lastLaunchAt: now - 7 * min },
      },
      want: {
        what: 'launches held back: no node of m5.large/us-west-2a/spot until 2026-01-01T01:04:00.000Z is launched',
        reason:
          '2 nodes of m5.large/us-west-2a/spot in a row booted and never registered within bootTimeout; check the image, the user data and that workers reach the master',
      },
    },
    {
      name: 'an offering whose backoff is over: nothing',
      runs: { 'm5.large/us-west-2a/spot': { count: 2, lastAt: now - 6 * min, lastLaunchAt: now - 12 * min } },
    },
    {
      name: 'five over the cluster: every launch, for 10 minutes (the backoff doubled)',
      runs: {
        '*': { count: 5, lastAt: now - min, lastLaunchAt: now - 7 * min },
        'm5.large/us-west-2a/spot': { count: 3, lastAt: now - min, lastLaunchAt: now - 7 * min },
        'c5.large/us-west-2a/spot': { count: 2, lastAt: now - 20 * min, lastLaunchAt: now - 27 * min },
      },
      want: {
        what: 'launches held back: no node is launched until 2026-01-01T01:09:00.000Z',
        reason:
          '5 nodes in a row booted and never registered within bootTimeout; check the image, the user data and that workers reach the master',
      },
    },
  ];
  for (const row of rows) {
    const decisions = bootBackoffDecision(bootBackoffViews(row.runs, now), now);
    if (row.want) t.match(decisions, [{ kind: 'waiting', ...row.want }], row.name);
    else t.same(decisions, [], row.name);
  }
  t.same(
    bootBackoffViews(
      {
        'm5.large/us-west-2a/spot': { count: 1, lastAt: now, lastLaunchAt: now },
        '*': { count: 1, lastAt: now, lastLaunchAt: now },
        'c5.large/us-west-2a/spot': { count: 1, lastAt: now, lastLaunchAt: now },
      },
      now,
    ).map((v) => v.offering),
    ['*', 'c5.large/us-west-2a/spot', 'm5.large/us-west-2a/spot'],
    'the cluster first, then the offerings by name',
  );
});
