import t, { type Test } from 'tap';
import { embeddedLeaderConfig, sleep, startEmbeddedLeader } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * `toil leader` on the local cloud in a region the instance catalogue has no on-demand prices for
 * (eu-west-1) says once at start-up that its node types are priced at us-east-1's list price, so
 * its costs are estimates (docs/scaler.md); in a region the catalogue prices (us-west-2) it says
 * nothing of it.
 */
const IN_EU_WEST_1: readonly (readonly [string, string])[] = [
  ['zone: us-west-2a', 'zone: eu-west-1a'],
  ['region: us-west-2', 'region: eu-west-1'],
  ['zones: [us-west-2a]', 'zones: [eu-west-1a]'],
];

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

/** The leader's output after it has served its status page and run `ticks` scaler ticks (1 s each). */
async function leaderOutput(
  t: Test,
  more: readonly (readonly [string, string])[],
  ticks: number,
): Promise<string> {
  const dir = testDir(t, {});
  const { leader, base } = await startEmbeddedLeader(t, dir, embeddedLeaderConfig(dir, more));
  // Later ticks must not say it again: wait until the scaler has ticked a few times.
  const until = Date.now() + 60_000;
  for (;;) {
    const status = (await (await fetch(`${base}/status`)).json()) as { lastTick?: { seq: number } | null };
    const seq = status.lastTick?.seq ?? 0;
    if (seq >= ticks) break;
    if (Date.now() > until)
      throw new Error(`the leader ran ${seq} tick(s) in 60 s:\n${leader.output().slice(-3000)}`);
    await sleep(250);
  }
  return leader.output();
}

/** The leader's log records (one JSON object a line) that speak of estimated prices. */
const priceWarnings = (out: string): { level?: number; region?: string; msg?: string }[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level?: number; region?: string; msg?: string })
    .filter((r) => /no on-demand price|costs shown are estimates/.test(r.msg ?? ''));

t.test(
  'toil leader in a region without catalogue prices warns once, naming the region and the price it uses',
  async (t) => {
    const warnings = priceWarnings(await leaderOutput(t, IN_EU_WEST_1, 3));
    t.equal(warnings.length, 1, 'said once, not again at later ticks');
    t.same(warnings[0], {
      ...warnings[0],
      level: 40, // pino's warn
      region: 'eu-west-1',
      msg:
        "the instance catalogue has no on-demand price for region eu-west-1: t2.medium priced at us-east-1's list price, " +
        'so costs shown are estimates; for exact prices give scaler.instanceTypes.<type>.onDemandPrice ' +
        "(USD/h in eu-west-1) in the leader's config (docs/scaler.md)",
    });
  },
);

t.test('toil leader in a region the catalogue prices says nothing of estimated prices', async (t) => {
  const out = await leaderOutput(t, [], 3);
  t.match(out, /status page at http/, 'the leader started');
  t.same(priceWarnings(out), []);
});
