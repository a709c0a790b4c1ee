import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { ClusterWorkload, TrackedBatchSystem } from '../../src/leader/workloadTracker.js';
import { ClusterView } from '../../src/scaler/tick/clusterView.js';
import { emptyTickState } from '../../src/scaler/tick/state.js';
import { scriptedBatchSystem } from '../fixtures/leaderFakes.js';

/**
 * The scaler's "preemptable work stays on spot" switch only holds where the batch system can keep
 * a preemptable job off on-demand room. The mesos batch system can; a Slurm one places jobs itself
 * and has no such switch. The cluster's reading says which, and the snapshot the policy plans from
 * carries it, so the plan never counts on a switch nobody honours (it would launch spot nodes for
 * work that then runs on the on-demand room, and the spot nodes would idle).
 */
t.test('the spot switch holds only when every batch system of the cluster honours it', async (t) => {
  const clock = new ManualClock();
  const honouring = scriptedBatchSystem();
  const calls: boolean[] = [];
  const waits: string[][] = [];
  const withSwitch = {
    ...honouring.system,
    keepPreemptableOnSpot: (on: boolean, waitFor?: ReadonlySet<string>) => {
      calls.push(on);
      waits.push([...(waitFor ?? [])]);
    },
  };
  const mesosLike = new TrackedBatchSystem(withSwitch, clock);
  const slurmLike = new TrackedBatchSystem(scriptedBatchSystem().system, clock);
  await mesosLike.start(() => {});
  await slurmLike.start(() => {});
  const workload = new ClusterWorkload(async () => []);

  t.equal(
    (await workload.read()).keepsPreemptableOnSpot,
    undefined,
    'no workflow running: nothing to refuse it',
  );
  workload.add(mesosLike);
  t.equal((await workload.read()).keepsPreemptableOnSpot, undefined, 'a mesos-like batch system: it holds');
  workload.keepPreemptableOnSpot(true, new Set(['2/134217728/1048576/p']));
  t.same(calls, [false, true], 'the switch reaches it (off when it joined, then on)');
  t.same(waits, [[], ['2/134217728/1048576/p']], 'with the requests that wait for spot');
  workload.keepPreemptableOnSpot(
    true,
    new Set(['2/134217728/1048576/p']),
    new Set(['8/8589934592/1048576/p']),
  );
  const late: [boolean, string[], string[]][] = [];
  const lateJoiner = new TrackedBatchSystem(
    {
      ...scriptedBatchSystem().system,
      keepPreemptableOnSpot: (on: boolean, waitFor?: ReadonlySet<string>, onDemand?: ReadonlySet<string>) =>
        void late.push([on, [...(waitFor ?? [])], [...(onDemand ?? [])]]),
    },
    clock,
  );
  await lateJoiner.start(() => {});
  workload.add(lateJoiner);
  t.same(
    late,
    [[true, ['2/134217728/1048576/p'], ['8/8589934592/1048576/p']]],
    'a batch system that joins later gets all three: the switch, the wait list, the on-demand list (spot risk)',
  );
  workload.remove(lateJoiner);

  workload.add(slurmLike);
  const mixed = await workload.read();
  t.equal(mixed.keepsPreemptableOnSpot, false, 'one batch system without the switch: it does not hold');
  const view = new ClusterView(clock.now(), [], mixed);
  t.equal(view.snapshot(emptyTickState()).preemptableCanStayOnSpot, false, 'the policy is told so');

  workload.remove(slurmLike);
  const again = await workload.read();
  t.equal(again.keepsPreemptableOnSpot, undefined, 'the Slurm-like one gone: it holds again');
  t.equal(
    new ClusterView(clock.now(), [], again).snapshot(emptyTickState()).preemptableCanStayOnSpot,
    undefined,
    'and the snapshot says nothing against it',
  );
});

t.test('keep-off hints reach every batch system that takes them, one that joins later too', async (t) => {
  const clock = new ManualClock();
  const seen: { who: string; byAgent: ReadonlyMap<string, ReadonlySet<string>> }[] = [];
  const taking = (who: string) =>
    new TrackedBatchSystem(
      {
        ...scriptedBatchSystem().system,
        keepOff: (byAgent: ReadonlyMap<string, ReadonlySet<string>>) => void seen.push({ who, byAgent }),
      },
      clock,
    );
  const first = taking('first');
  const later = taking('later');
  const without = new TrackedBatchSystem(scriptedBatchSystem().system, clock);
  for (const s of [first, later, without]) await s.start(() => {});
  const workload = new ClusterWorkload(async () => []);
  workload.add(first);
  workload.add(without);
  t.same(seen, [], 'no hint yet: nothing is sent');
  const hints = new Map([['agent-1', new Set(['1/1073741824/1073741824/n'])]]);
  workload.keepOff(hints);
  t.same(
    seen.map((s) => s.who),
    ['first'],
    'the hint reaches the batch system that takes hints (the other places as it always did)',
  );
  t.equal(seen[0]!.byAgent.get('agent-1')?.has('1/1073741824/1073741824/n'), true, 'by agent, by key');
  /** What the reading says of hints, and what the snapshot the plan is made from says. */
  const honoured = async (): Promise<unknown[]> => {
    const reading = await workload.read();
    const snapshot = new ClusterView(clock.now(), [], reading).snapshot(emptyTickState());
    return [reading.keepsOff, snapshot.keepOffHonoured];
  };
  t.same(
    await honoured(),
    [false, false],
    'one batch system without keepOff: hints do not hold, the plan sets none',
  );
  workload.remove(without);
  t.same(await honoured(), [undefined, undefined], 'every batch system takes hints: nothing against them');
  workload.add(later);
  t.same(
    seen.map((s) => s.who),
    ['first', 'later'],
    'a batch system that joins later is given the standing hints',
  );
  workload.keepOff(new Map());
  t.same(
    seen.slice(2).map((s) => [s.who, s.byAgent.size]),
    [
      ['first', 0],
      ['later', 0],
    ],
    'lifted for all',
  );
});
