import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { startEc2Endpoint } from '../../src/localcloud/ec2/index.js';
import { startSlurmController, waitForNodeState } from '../../src/localcloud/slurm/cluster.js';
import { SlurmdLauncher, loopbackFor } from '../../src/localcloud/slurm/launcher.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import { createClusterGroup, localClusterSettings, testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import { needsSlurm } from '../fixtures/slurmCluster.js';

t.test(
  'the local cloud with Slurm: a running worker instance joins the controller as a slurmd named by its instance, sized by its type, featured by its market; terminated, its slurmd stops',
  { skip: needsSlurm() },
  async (t) => {
    const controller = await startSlurmController({ slurmdTimeoutSeconds: 300 });
    t.teardown(() => controller.stop({ kill: true }));
    const clock = new ManualClock();
    const endpoint = await startEc2Endpoint({
      clock,
      log: silentLogger(),
      bootDelayMs: 30_000,
      shutdownDelayMs: 5_000,
      tickMs: 1000,
      // The EC2 stand-in starts a node process for a worker whose user data names a master.
      mesosMaster: `${controller.address}:${controller.port}`,
      launcher: new SlurmdLauncher({ controller, log: silentLogger(), reservedMemoryMiB: 512 }),
    });
    t.teardown(() => endpoint.stop());
    const calls = testCalls(testEc2Client(endpoint.url));
    await createClusterGroup(calls, 'slurm', 'us-west-2a');
    const settings = localClusterSettings('slurm', { clusterType: 'slurm' });
    const p = new AwsProvisioner({ calls, clock, log: silentLogger(), settings });
    // The same cluster's worker with Mesos user data (a Mesos agent's unit): nothing joins Slurm for it.
    const mesos = new AwsProvisioner({
      calls,
      clock,
      log: silentLogger(),
      settings: { ...settings, clusterType: 'mesos' },
    });
    await p.launch({
      offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
      count: 1,
      clientToken: 'l',
      role: 'leader',
    });
    const [spot] = (
      await p.launch({
        offering: { instanceType: 'r5.large', zone: 'us-west-2a', market: 'spot' },
        count: 1,
        clientToken: 's',
      })
    ).nodes;
    const [od] = (
      await p.launch({
        offering: { instanceType: 'c5.xlarge', zone: 'us-west-2a', market: 'on-demand' },
        count: 1,
        clientToken: 'o',
      })
    ).nodes;
    const [mesosWorker] = (
      await mesos.launch({
        offering: { instanceType: 't2.medium', zone: 'us-west-2a', market: 'on-demand' },
        count: 1,
        clientToken: 'm',
      })
    ).nodes;
    await clock.advance(30_000);
    for (const n of [spot!, od!]) await waitForNodeState(controller.cli, n.instanceId, (s) => s === 'idle');
    const nodes = await controller.cli.nodes();
    const spotNode = nodes.find((n) => n.name === spot!.instanceId)!;
    const odNode = nodes.find((n) => n.name === od!.instanceId)!;
    t.match(spotNode, { features: ['spot'], cpus: 2, memoryMb: 16384 - 512, tmpDiskMb: 20480 });
    t.match(odNode, { features: ['ondemand'], cpus: 4, memoryMb: 8192 - 512 });
    t.equal(spotNode.address, loopbackFor(endpoint.cloud.instances.get(spot!.instanceId)!.privateIp));
    t.notOk(
      nodes.some((n) => n.state !== 'future' && ![spot!.instanceId, od!.instanceId].includes(n.name)),
      'the leader instance and the Mesos-unit worker joined nothing',
    );
    t.equal(
      endpoint.cloud.instances.get(mesosWorker!.instanceId)?.state,
      'running',
      'the Mesos-unit worker runs',
    );

    await p.terminate([od!.instanceId]);
    await clock.advance(5_000);
    await controller.cli.downNode(od!.instanceId, 'terminated');
    await controller.cli.deleteNode(od!.instanceId);
    t.notOk(
      (await controller.cli.nodes()).some((n) => n.name === od!.instanceId),
      'a terminated instance’s node is deleted from Slurm',
    );
  },
);
