import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import type { ListOptions, ProvisionedNode } from '../../src/ports/provisioner.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps, RecordingProvisioner } from '../fixtures/leaderFakes.js';

/**
 * /scaler/plan and /status are open by default (anything that reaches the port: every job on
 * every worker), and each read the cloud (an EC2 listing) or the cluster manager (its agents) when
 * asked. A flood of them made one such call each, on the leader's own credentials and API budget;
 * requests that arrive while a read is under way now share it.
 */
const READ_MS = 200;
const REQUESTS = 40;

class SlowListing extends RecordingProvisioner {
  listings = 0;
  override async listNodes(options: ListOptions = {}): Promise<ProvisionedNode[]> {
    this.listings++;
    await new Promise((r) => setTimeout(r, READ_MS));
    return super.listNodes(options);
  }
}

t.test(
  `${REQUESTS} requests at once to /scaler/plan and to /status: one read each, every answer a 200`,
  async (t) => {
    const clock = new ManualClock();
    const config = parseLeaderConfigObject(
      {
        http: { port: 0 },
        scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
      },
      await readCatalogue(),
    );
    const provisioner = new SlowListing(clock);
    let agentReads = 0;
    const daemon = new LeaderDaemon({
      ...fakeDaemonDeps(clock, config),
      provisioner,
      newBatchSystem: () =>
        ({
          issuedJobIds: () => new Set<string>(),
          clusterAgents: async () => {
            agentReads++;
            await new Promise((r) => setTimeout(r, READ_MS));
            return [];
          },
        }) as never,
      // Runs until the daemon stops it.
      runWorkflow: (_s, _b, _p, signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        ),
    });
    const url = await daemon.start();
    t.teardown(() => daemon.stop());
    // A run, so /status reads the cluster manager's live job counts.
    daemon.submit({ workflowFile: '/w.ts', jobStore: 'file:/tmp/js', args: [] });

    provisioner.listings = 0;
    const plans = await Promise.all(Array.from({ length: REQUESTS }, () => fetch(`${url}/scaler/plan`)));
    t.same(new Set(plans.map((r) => r.status)), new Set([200]), 'every plan answered');
    t.equal(provisioner.listings, 1, 'one EC2 listing for the requests that came together');

    agentReads = 0;
    const statuses = await Promise.all(Array.from({ length: REQUESTS }, () => fetch(`${url}/status`)));
    t.same(new Set(statuses.map((r) => r.status)), new Set([200]), 'every status answered');
    t.equal(agentReads, 1, "one reading of the cluster manager's agents for them");
    const queue = ((await statuses[0]!.json()) as { queue: unknown }).queue;
    t.same(queue, { queued: 0, running: 0, source: 'live' }, 'the live counts');

    provisioner.listings = 0;
    t.equal((await fetch(`${url}/scaler/plan`)).status, 200, 'a later plan answered');
    t.equal(provisioner.listings, 1, 'a later request reads anew');
  },
);
