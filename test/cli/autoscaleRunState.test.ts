import t from 'tap';
import { join } from 'node:path';
import { testDir } from '../fixtures/testDir.js';
import {
  leftByRunLines,
  pointerTo,
  restartCommand,
  type AutoscaleRunRecord,
} from '../../src/cli/autoscaleRunState.js';

const run: AutoscaleRunRecord = {
  format: 1,
  argv: ['run', 'sort.ts', 'file:js', '--provisioner', 'aws', '--clusterName', 'c1', '--zone', 'us-west-2a'],
  cwd: '/home/me/my work',
  clusterName: 'c1',
  zone: 'us-west-2a',
  startedAt: 0,
};

t.test('the resume command is the run as started, in its directory, with --restart once', async (t) => {
  t.equal(
    restartCommand(run),
    "cd '/home/me/my work' && toil run sort.ts file:js --provisioner aws --clusterName c1 --zone us-west-2a --restart",
  );
  t.equal(restartCommand({ ...run, argv: [...run.argv, '--restart'] }), restartCommand(run));
});

t.test('a dead run with only an unanswered launch names it and the whole-cluster way out', async (t) => {
  const text = leftByRunLines(
    {
      stateDir: '/w/toil-autoscale-abc',
      nodes: [],
      unansweredLaunches: [{ instanceType: 't2.medium', count: 2 }],
      run,
    },
    0,
  );
  t.match(
    text,
    /^nodes: +this workflow's autoscaling leader is gone with its launch\(es\) of 2×t2\.medium of cluster c1 \(us-west-2a\) never answered: they may be running and billing; nothing retires them until the run is resumed$/m,
  );
  t.match(text, /or give it up: toil destroy-cluster --zone us-west-2a c1 \(the whole cluster/);
  t.notMatch(text, /terminate-instances/);
  t.match(
    leftByRunLines(
      {
        stateDir: '/w/a',
        nodes: [],
        unansweredLaunches: [{ instanceType: 't2.medium', count: 2, marked: true }],
        run,
      },
      0,
    ),
    /never answered: they may be running and billing; a leader still running on the cluster retires those carrying its heartbeat once that is stale/,
    'a launch that carried the heartbeat: what it started is retired as the rest',
  );
});

t.test('owned nodes are listed with $/h and age, and terminated by id', async (t) => {
  const text = leftByRunLines(
    {
      stateDir: '/w/toil-autoscale-abc',
      nodes: [
        { instanceId: 'i-1', launchedAt: 0, pricePerHour: 0.0464, spot: false },
        { instanceId: 'i-2', launchedAt: 0, pricePerHour: 0.0139, spot: true },
      ],
      unansweredLaunches: [],
      run,
    },
    30 * 60_000,
  );
  t.match(text, /2 worker instance\(s\) of cluster c1 \(us-west-2a\) .* billing \(\$0\.0603\/h\)/);
  t.match(
    text,
    /billing \(\$0\.0603\/h\); a leader still running on the cluster retires those carrying its heartbeat once that is stale \(17 min after its last beat, with the default tick settings\); otherwise nothing retires them until the run is resumed$/m,
  );
  t.match(text, /^ {2}i-2 \(spot, \$0\.0139\/h, up 30 min\)$/m);
  t.match(
    text,
    /aws ec2 terminate-instances --region us-west-2 --instance-ids i-1 i-2 \(or the whole cluster/,
  );
  t.match(
    text,
    /then rm -r \/w\/toil-autoscale-abc \/w\/toil-autoscale-abc\.token \/w\/toil-autoscale-abc\.run\.json\n$/,
  );
});

t.test("a run in a region priced by estimate: its nodes' $/h read as estimates, saying why", async (t) => {
  const estimatedPrices = { region: 'eu-west-1', from: 'us-east-1', types: ['t2.medium'] };
  const text = leftByRunLines(
    {
      stateDir: '/w/toil-autoscale-abc',
      nodes: [{ instanceId: 'i-1', launchedAt: 0, pricePerHour: 0.0464, spot: false }],
      unansweredLaunches: [],
      run: { ...run, zone: 'eu-west-1a', estimatedPrices },
    },
    30 * 60_000,
  );
  t.match(
    text,
    /may be running and billing \(≈\$0\.0464\/h, an estimate: t2\.medium priced at us-east-1's list price, the catalogue having none for eu-west-1\); /,
  );
  t.match(text, /^ {2}i-1 \(on-demand, ≈\$0\.0464\/h, up 30 min\)$/m);
});

t.test('giving up a run whose state is in another work dir removes the pointer to it too', async (t) => {
  const text = leftByRunLines(
    {
      stateDir: '/w/toil-autoscale-abc',
      nodes: [{ instanceId: 'i-1', launchedAt: 0, pricePerHour: 0.0464, spot: false }],
      unansweredLaunches: [],
      run,
      pointer: '/tmp/toil-autoscale-abc.where',
    },
    0,
  );
  t.match(
    text,
    /then rm -r \/w\/toil-autoscale-abc \/w\/toil-autoscale-abc\.token \/w\/toil-autoscale-abc\.run\.json \/tmp\/toil-autoscale-abc\.where\n$/,
  );
});

t.test('the pointer named is the one that leads to the state, and only that', async (t) => {
  const dir = testDir(t, {
    'toil-autoscale-abc.where': '/w/toil-autoscale-abc\n',
    'toil-autoscale-def.where': '/w/x\n',
  });
  const here = (n: string): string => join(dir, n);
  t.equal(
    await pointerTo('/w/toil-autoscale-abc', here('toil-autoscale-abc')),
    here('toil-autoscale-abc.where'),
  );
  t.equal(
    await pointerTo('/w/toil-autoscale-def', here('toil-autoscale-def')),
    undefined,
    'it leads elsewhere',
  );
  t.equal(
    await pointerTo(here('toil-autoscale-abc'), here('toil-autoscale-abc')),
    undefined,
    'the state is the default',
  );
  t.equal(await pointerTo('/w/toil-autoscale-ghi', here('toil-autoscale-ghi')), undefined, 'no pointer');
});

t.test('once the job store is deleted, only giving the run up is advised', async (t) => {
  const left = {
    stateDir: '/w/toil-autoscale-abc',
    nodes: [{ instanceId: 'i-1', launchedAt: 0, pricePerHour: 0.0464, spot: false }],
    unansweredLaunches: [],
    run,
  };
  const text = leftByRunLines(left, 0, true);
  t.notMatch(text, /resume it/);
  t.match(
    text,
    /^ {2}its job store is deleted, so it cannot be resumed: give it up: aws ec2 terminate-instances .* i-1 /m,
  );
  t.match(leftByRunLines(left, 0), /resume it/, 'while it exists, both ways');
});
