import { join } from 'node:path';
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import type { StateTask } from '../../src/mesos/types.js';
import { testEc2Client } from '../fixtures/ec2Local.js';
import {
  leaderOnCloud,
  localCloudInstances,
  taskLabel,
  type LocalCloudInstance,
  leaderStatus,
  liveWorkers,
  startClusterCloud,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { waitFor } from '../fixtures/waitFor.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

const { DescribeInstancesCommand, DescribeSpotInstanceRequestsCommand } = ec2Sdk();

/**
 * The spot market moves under a running daemon (`toil leader` on `toil localcloud`, both real
 * processes; t2.medium spot bids $0.03 in us-west-2a and us-west-2b, on-demand $0.0464):
 *
 * 1. the market opens above the bid in both zones: the submitted spot job waits, and the plan
 *    says why, naming the observed price; nothing is launched;
 * 2. us-west-2a falls to $0.012: a spot node there runs the job;
 * 3. us-west-2a rises to $0.04 while us-west-2b falls: the node gets its notice, is drained, its
 *    replacement is launched in us-west-2b and the job, lost with the reclaimed node, re-runs there;
 * 4. us-west-2b rises too: lost a second time (--preemptableRetries 1), the job moves to
 *    on-demand, the plan says why, and it finishes there.
 *
 * `--retryCount 0` all along: losses spend no retry. Checked against the cloud's records (EC2
 * API), the Mesos master's tasks and the job store, not the daemon's own view.
 */
t.setTimeout(180_000);

const BID_REASON =
  /observed spot price \$0\.04\/h for t2\.medium\/us-west-2a\/spot is above the bid \$0\.03\/h/;
const MOVED_NOTE =
  /job 'hold' \((1 queued|1 running)\) moved to on-demand: lost with its spot node 2 times \(--preemptableRetries 1\)/;

t.test(
  'spot price above the bid mid-run: notice, drain, replacement in the cheaper zone; lost twice → on-demand; retryCount 0 intact',
  async (t) => {
    const dir = testDir(t, {
      'prices.json': JSON.stringify([
        { instanceType: 't2.medium', zone: 'us-west-2a', at: '+0s', price: 0.04 },
        { instanceType: 't2.medium', zone: 'us-west-2b', at: '+0s', price: 0.05 },
      ]),
    });
    const cloud = await startClusterCloud(t, 'spotmarket', {
      args: ['--spot-price-file', join(dir, 'prices.json'), '--spot-notice', '2s'],
    });
    const { leader, base } = await leaderOnCloud(t, dir, cloud, 'spotmarket', [
      ['zones: [us-west-2a]', 'zones: [us-west-2a, us-west-2b]'],
      ['{ type: t2.medium, spot: true }', '{ type: t2.medium, spot: true, bid: 0.03 }'],
      ['preemptableCompensation: 1', 'preemptableCompensation: 0'],
      ['bootTime: 5s', 'bootTime: 1s'],
      ['idleGrace: 20s', 'idleGrace: 2s'],
      ['drainTimeout: 10m', 'drainTimeout: 10m\n  spotPriceRefresh: 500ms'],
    ]);

    const master = new MesosMasterClient(cloud.mesosMaster);
    const hostOf = new Map<string, string>(); // agent id → hostname (the instance's private address)
    const tasks = new Map<string, StateTask>();
    const readMaster = async (): Promise<void> => {
      const s = await master.state();
      for (const a of s.slaves) hostOf.set(a.id, a.hostname);
      for (const f of [...s.frameworks, ...s.completed_frameworks])
        for (const task of [...f.tasks, ...f.unreachable_tasks, ...f.completed_tasks])
          if (taskLabel(task, 'toil.jobId')) tasks.set(task.id, task);
    };
    const cloudInstances = (): Promise<LocalCloudInstance[]> => localCloudInstances(cloud.ec2Url);
    /** The attempt of `hold` running now, and where (zone and market of its instance). */
    const runningHold = async (): Promise<{ attempt: string; zone: string; market: string } | undefined> => {
      await readMaster();
      // The newest attempt: a reclaimed agent's task can read TASK_RUNNING until the master gives up on it.
      const task = [...tasks.values()]
        .filter((x) => x.state === 'TASK_RUNNING' && x.name.includes('hold'))
        .sort((a, b) => Number(taskLabel(b, 'toil.attempt')) - Number(taskLabel(a, 'toil.attempt')))[0];
      if (!task) return undefined;
      const inst = (await cloudInstances()).find((i) => i.privateIp === hostOf.get(task.slave_id));
      return inst && { attempt: taskLabel(task, 'toil.attempt') ?? '', zone: inst.zone, market: inst.market };
    };
    const setPrice = async (zone: string, price: number): Promise<void> => {
      const r = await fetch(`${cloud.ec2Url}/_localcloud/spot-price`, {
        method: 'POST',
        body: JSON.stringify({ instanceType: 't2.medium', zone, price }),
      });
      t.equal(r.status, 200, `the market moves: t2.medium in ${zone} at $${price}`);
    };
    const plan = async (): Promise<{ waiting: { reason: string }[]; notes: string[] }> =>
      (await (await fetch(`${base}/scaler/plan`)).json()) as {
        waiting: { reason: string }[];
        notes: string[];
      };

    const client = startToilProcess(
      [
        'run',
        repoPath('test/fixtures/workflowSpotHold.ts'),
        `file:${dir}/js`,
        '--leader',
        base,
        '--retryCount',
        '0',
        '--preemptableRetries',
        '1',
        '--clean',
        'never',
      ],
      { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
    );
    t.teardown(() => void client.child.kill('SIGKILL'));

    // 1. Above the bid everywhere: the job waits, and the plan and /status say why.
    let waiting = '';
    await waitFor(
      'the plan to say the spot job waits for the price',
      async () => {
        waiting = (await plan()).waiting.map((w) => w.reason).join('\n');
        return BID_REASON.test(waiting);
      },
      60_000,
      200,
    );
    t.match(waiting, BID_REASON, 'GET /scaler/plan: the job waits, naming the observed price and the bid');
    type Status = {
      lastTick?: { plan?: { waiting: { reason: string }[] } };
      spot: { prices: { offering: string; price: number; source: string }[] };
    };
    let status: Status | undefined;
    await waitFor(
      'the last tick to say it too',
      async () => {
        status = (await (await fetch(`${base}/status`)).json()) as Status;
        return (status.lastTick?.plan?.waiting ?? []).some((w) => BID_REASON.test(w.reason));
      },
      30_000,
      200,
    );
    t.match(
      status?.lastTick?.plan?.waiting.map((w) => w.reason).join('\n'),
      BID_REASON,
      "/status: the last tick's plan says the job waits for the price",
    );
    t.same(
      status!.spot.prices
        .filter((p) => p.offering.startsWith('t2.medium/'))
        .map((p) => `${p.offering} ${p.price} ${p.source}`)
        .sort(),
      ['t2.medium/us-west-2a/spot 0.04 observed', 't2.medium/us-west-2b/spot 0.05 observed'],
      '/status shows the observed prices',
    );
    t.same(await liveWorkers(cloud.ec2Url), [], 'nothing launched while the price is above the bid');

    // 2. us-west-2a falls under the bid: a spot node there takes the job.
    await setPrice('us-west-2a', 0.012);
    let first: Awaited<ReturnType<typeof runningHold>>;
    await waitFor(
      'hold running on a spot node',
      async () => (first = await runningHold()) !== undefined,
      60_000,
      100,
    );
    t.same({ zone: first!.zone, market: first!.market }, { zone: 'us-west-2a', market: 'spot' });

    // 3. us-west-2a rises above the bid, us-west-2b falls: notice, drain, replacement in us-west-2b.
    await setPrice('us-west-2b', 0.016);
    await setPrice('us-west-2a', 0.04);
    let second: Awaited<ReturnType<typeof runningHold>>;
    await waitFor(
      'hold re-run on the replacement',
      async () => (second = await runningHold()) !== undefined && second.attempt !== first!.attempt,
      60_000,
      100,
    );
    t.same({ zone: second!.zone, market: second!.market }, { zone: 'us-west-2b', market: 'spot' });

    // 4. us-west-2b rises too: lost a second time, the job moves to on-demand and the plan says why.
    await setPrice('us-west-2b', 0.05);
    let notes: string[] = [];
    await waitFor(
      'the plan to say why hold runs on on-demand',
      async () => (notes = (await plan()).notes).some((n) => MOVED_NOTE.test(n)),
      60_000,
      100,
    );
    t.ok(
      notes.some((n) => MOVED_NOTE.test(n)),
      `the plan says why: ${notes.join(' | ')}`,
    );
    const result = await client.done;
    t.equal(result.code, 0, `the workflow succeeds with --retryCount 0\n${result.stderr.slice(-2000)}`);

    // The Mesos master's records: two spot attempts lost, the third finished on on-demand.
    await readMaster();
    const instances = await cloudInstances();
    const where = (task: StateTask): string => {
      const inst = instances.find((i) => i.privateIp === hostOf.get(task.slave_id));
      return inst ? `${inst.market} ${inst.zone}` : `unknown agent ${task.slave_id}`;
    };
    const holds = [...tasks.values()]
      .filter((x) => x.name.includes('hold'))
      .sort((a, b) => Number(taskLabel(a, 'toil.attempt')) - Number(taskLabel(b, 'toil.attempt')));
    t.same(
      holds.map((x) => `${where(x)} ${x.state === 'TASK_FINISHED' ? 'finished' : 'lost'}`),
      ['spot us-west-2a lost', 'spot us-west-2b lost', 'on-demand us-west-2a finished'],
      'attempts of hold in the master: lost on spot in each zone, then finished on on-demand',
    );

    // The cloud's records: both spot workers reclaimed by the market, each bid $0.03.
    const ec2 = testEc2Client(cloud.ec2Url);
    t.teardown(() => ec2.destroy());
    const described = (await ec2.send(new DescribeInstancesCommand({}))).Reservations!.flatMap(
      (r) => r.Instances!,
    );
    const spotWorkers = described.filter((i) => i.InstanceLifecycle === 'spot');
    t.same(
      spotWorkers.map((i) => `${i.Placement?.AvailabilityZone} ${i.StateReason?.Code}`).sort(),
      ['us-west-2a Server.SpotInstanceTermination', 'us-west-2b Server.SpotInstanceTermination'],
      'two spot workers, each reclaimed by EC2 when the price passed the bid',
    );
    const requests = (await ec2.send(new DescribeSpotInstanceRequestsCommand({}))).SpotInstanceRequests!;
    t.same([...new Set(requests.map((q) => q.SpotPrice))], ['0.030000'], 'every spot request bid $0.03');
    const spotIn = (zone: string): LocalCloudInstance | undefined =>
      instances.find((i) => i.tags.ToilNodeType === 'worker' && i.market === 'spot' && i.zone === zone);
    const [noticed, replacement] = [spotIn('us-west-2a'), spotIn('us-west-2b')];
    t.ok(
      noticed?.interruption && replacement && replacement.launchTime < noticed.interruption.terminateAt,
      `the replacement was launched during the notice, before the reclaim (${
        noticed?.interruption && replacement
          ? `${replacement.launchTime - noticed.interruption.noticeAt} ms after the notice of ${
              noticed.interruption.terminateAt - noticed.interruption.noticeAt
            } ms`
          : 'no notice or no replacement'
      })`,
    );
    t.equal(
      instances.filter((i) => i.tags.ToilNodeType === 'worker' && i.market === 'on-demand').length,
      1,
      'one on-demand worker, for the moved job',
    );

    // The job store: retryCount 0 recorded, hold committed by its third attempt.
    const store = new JobStore(new FileObjectStore(join(dir, 'js')));
    t.equal((await store.readWorkflow())?.options.retryCount, 0, 'the workflow ran with --retryCount 0');
    const commits = await store.readAllCommits();
    t.same(
      [...commits.values()].map((c) => String(c.attempt)),
      [taskLabel(holds[2]!, 'toil.attempt')],
      "hold's commit is its on-demand attempt's",
    );

    // The daemon's counters and notices agree.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /toil_spot_interruption_notices_total 2\b/, 'two notices seen');
    t.match(metrics, /toil_jobs_moved_to_on_demand_total 1\b/, 'one job moved to on-demand');
    t.equal((await leaderStatus(base)).workflows[0]?.status, 'succeeded');

    leader.child.kill('SIGTERM');
    t.equal((await leader.done).code, 0, 'SIGTERM stops the daemon');
    t.same(await liveWorkers(cloud.ec2Url), [], 'no worker left pending or running');
  },
);
