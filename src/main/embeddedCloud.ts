/**
 * The embedded local cloud of `provisioner.kind: embedded`: the EC2 endpoint (with agents as
 * processes joining the leader's Mesos master), and the cluster launch-cluster would have made in
 * it (security group, leader instance).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { LeaderConfig } from '../leader/leaderConfig.js';
import type { NodeProcessLauncher } from '../localcloud/ec2/agents.js';
import type { Ec2Endpoint } from '../localcloud/ec2/index.js';
import type { NodeImage } from '../provisioner/aws/awsCluster.js';
import type { AwsClusterSettings } from '../provisioner/aws/awsProvisioner.js';

/**
 * The image the local cloud boots every node from, with its root snapshot: the local cloud refuses
 * a smaller root volume as EC2 does (InvalidBlockDeviceMapping), so the daemon's root volumes are
 * checked against it as against an AWS image.
 */
export async function embeddedNodeImage(): Promise<NodeImage> {
  const { LOCAL_IMAGE } = await import('../localcloud/ec2/catalogue.js');
  return { imageId: LOCAL_IMAGE.imageId, rootSnapshotGiB: LOCAL_IMAGE.rootSnapshot.sizeGiB };
}

/**
 * Starts the local EC2 endpoint; its running workers join `mesosMaster` as Mesos agents, or become
 * what `launcher` starts (a slurmd joined to the controller at `mesosMaster`). Resolves with it.
 */
export async function startEmbeddedEc2(o: {
  config: LeaderConfig;
  mesosMaster: string;
  clock: Clock;
  log: Logger;
  launcher?: NodeProcessLauncher;
}): Promise<Ec2Endpoint> {
  const [{ startEc2Endpoint }, { agentProcessLauncher }] = await Promise.all([
    import('../localcloud/ec2/index.js'),
    import('../localcloud/mesos/agentProcess.js'),
  ]);
  const endpoint = await startEc2Endpoint({
    clock: o.clock,
    log: o.log,
    host: '127.0.0.1',
    region: o.config.scaler.region,
    bootDelayMs: o.config.localcloud.bootDelay,
    shutdownDelayMs: o.config.localcloud.shutdownDelay,
    mesosMaster: o.mesosMaster,
    faults: o.config.localcloud.faults,
    // Agents report their instance's private address as hostname (see agentProcessLauncher).
    launcher: o.launcher ?? agentProcessLauncher(),
  });
  return endpoint;
}

/** The local cloud starts empty: makes the cluster launch-cluster would have made (re-runnably). */
export async function makeEmbeddedCluster(o: {
  ec2: EC2Client;
  settings: AwsClusterSettings;
  clusterName: string;
  zone: string;
  clock: Clock;
  log: Logger;
}): Promise<void> {
  const [{ Ec2Calls, DEFAULT_RETRY }, { AwsCluster }, { AwsProvisioner }] = await Promise.all([
    import('../provisioner/aws/ec2Calls.js'),
    import('../provisioner/aws/awsCluster.js'),
    import('../provisioner/aws/awsProvisioner.js'),
  ]);
  const { ec2, settings, clusterName, zone, clock, log } = o;
  const setupCalls = new Ec2Calls({ client: ec2, clock, log, retry: DEFAULT_RETRY });
  const setup = new AwsProvisioner({ calls: setupCalls, settings, clock, log });
  const cluster = new AwsCluster({ calls: setupCalls, clusterName, clock, log });
  const { vpcId } = await cluster.defaultSubnet(zone);
  await cluster.ensureSecurityGroup({ vpcId, tags: { clusterName } });
  if ((await setup.listNodes({ role: 'leader' })).length === 0)
    await setup.launch({
      offering: { instanceType: 't2.medium', zone, market: 'on-demand' },
      count: 1,
      clientToken: `leader-${clusterName}`,
      role: 'leader',
    });
}
