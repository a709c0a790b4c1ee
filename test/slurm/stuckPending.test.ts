import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import type { IssuedJob, JobUpdate } from '../../src/ports/batchSystem.js';
import { SlurmBatchSystem } from '../../src/slurm/batchSystem.js';
import type { SlurmNode } from '../../src/slurm/json.js';
import { stuckPendingAdvice } from '../../src/slurm/stuckPending.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { waitFor } from '../fixtures/waitFor.js';

const MB = 2 ** 20;

function job(id: string, script: string, cores = 1): IssuedJob {
  return {
    jobId: id,
    attempt: 1,
    name: `test-${id}`,
    requirements: { cores, memory: 100 * MB, disk: 100 * MB, preemptable: true },
    command: ['sh', '-c', script],
    jobStoreLocator: 'file:/tmp/a-store',
  };
}

const node = (over: Partial<SlurmNode> = {}): SlurmNode => ({
  name: 'n1',
  address: '127.0.0.1',
  hostname: 'n1',
  state: 'idle',
  flags: [],
  features: ['spot'],
  cpus: 2,
  memoryMb: 2000,
  tmpDiskMb: 4000,
  allocCpus: 0,
  allocMemoryMb: 0,
  reason: '',
  ...over,
});

t.test('which pending reasons are stuck, and what the user is told to do', async (t) => {
  const request = job('x', 'true').requirements;
  const advise = (reason: string, nodes: SlurmNode[], nodesJoinOnDemand = false): string | undefined =>
    stuckPendingAdvice({ jobId: 7, reason, reasonDescription: '' }, request, 'ondemand', nodes, {
      nodesJoinOnDemand,
    });
  const rows: [string, SlurmNode[], RegExp | undefined][] = [
    ['Resources', [node()], undefined], // a busy cluster: a node that is up can take it
    ['Priority', [node()], undefined],
    ['Dependency', [node()], undefined],
    ['BeginTime', [node()], undefined],
    ['QOSJobLimit', [node()], undefined], // running jobs free it
    [
      'Resources',
      [node({ flags: ['DRAIN'], reason: 'maint' })],
      /^the nodes that could take its request \(1 cores, 100 MiB memory, 100 MiB disk\) are down or drained: n1 \(drained: maint\); resume one \('scontrol update nodename=n1 state=resume'\)/,
    ],
    ['ReqNodeNotAvail', [node({ state: 'down' })], /are down or drained: n1 \(down\)/],
    ['Resources', [node({ cpus: 0.5 * 1 })], /^no node of the cluster can take its request \(1 cores/],
    ['PartitionTimeLimit', [node()], /partition's limits or state refuse it .*--slurmPartition/],
    ['PartitionConfig', [node()], /partition's limits/],
    ['BadConstraints', [node()], /no node has the features it asks for/],
    ['InvalidQOS', [node()], /--slurmQOS/],
    ['JobHeldAdmin', [node()], /'scontrol release 7'/],
  ];
  for (const [reason, nodes, expected] of rows) {
    const advice = advise(reason, nodes);
    if (expected === undefined)
      t.equal(
        advice,
        undefined,
        `${reason} with ${nodes[0]!.flags.join() || nodes[0]!.state}: waits in silence`,
      );
    else t.match(advice, expected, `${reason}: ${advice}`);
  }
  t.equal(
    advise('Resources', [node({ flags: ['DRAIN'] })], true),
    undefined,
    'where the scaler launches nodes, waiting for one is not stuck',
  );
  t.match(advise('PartitionTimeLimit', [], true), /partition/, 'a reason that needs a change is, even there');
});

t.test(
  'a job pending on a real Slurm whose only node is drained is named once in a WARN, and runs once the node is resumed',
  { skip: needsSlurm() },
  async (t) => {
    const cluster = await startSlurmCluster([{ features: ['spot'] }]);
    t.teardown(() => cluster.stop());
    const { destination, lines } = capturedLog();
    const updates = new Map<string, JobUpdate>();
    const bs = new SlurmBatchSystem({
      cli: cluster.cli,
      clock: new RealClock(),
      log: createLogger({ level: 'warn', destination }),
      pollMs: 150,
      stuckPendingWarnMs: 600,
    });
    await bs.start((u) => updates.set(u.jobId, u));
    t.teardown(() => bs.shutdown());

    // Busy, not stuck: a second 2-core job waits for the first on a node that can take it.
    await bs.issue(job('first', 'sleep 3', 2));
    await bs.issue(job('second', 'true', 2));
    await waitFor('both jobs to end', () => updates.size === 2, 30_000, 50);
    t.same(lines, [], 'a job waiting behind another on a node that can take it is not warned of');

    await cluster.cli.drainNode('n1', 'maint');
    await bs.issue(job('stuck', 'true'));
    await waitFor('a warning', () => lines.length > 0, 15_000, 50);
    // Slurm gives either reason for a job whose only node is drained, by when its scheduler ran.
    t.match(lines[0], {
      level: 40,
      msg: /^job 'test-stuck' \(stuck, Slurm job \d+\) has been pending for \d+ s, and Slurm gives a reason that will not clear by itself \((Resources|ReqNodeNotAvail)[^)]*\): the nodes that could take its request .* are down or drained: n1 \(drained: maint\); resume one \('scontrol update nodename=n1 state=resume'\) .*; the workflow waits for it \('toil kill file:\/tmp\/a-store' stops it\)$/,
    });
    await new Promise((r) => setTimeout(r, 1_000));
    t.equal(lines.length, 1, 'once per job');
    t.notOk(updates.has('stuck'), 'the job is not failed: it waits');

    await cluster.cli.resumeNode('n1');
    await waitFor('the stuck job to run', () => updates.has('stuck'), 30_000, 50);
    t.equal(updates.get('stuck')?.outcome, 'succeeded', 'it runs once the node is resumed');
  },
);
