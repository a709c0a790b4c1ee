import { RealClock } from '../common/clock.js';
import { clusterEnvironment } from '../main/env.js';
import { checkProvisioner } from '../provisioner/cluster/cliSupport.js';
import { clusterLogger, type ClusterLoggingFlags } from './clusterLogging.js';
import { leaderAddress } from '../provisioner/cluster/remote.js';
import { resolveClusterRegion, validateClusterName } from '../provisioner/cluster/validate.js';

/** The flags ssh-cluster and rsync-cluster share (Toil's). */
export interface RemoteFlags extends ClusterLoggingFlags {
  readonly provisioner?: string;
  readonly zone?: string;
  readonly insecure: boolean;
  readonly sshOption: string[];
}

/**
 * The address ssh-cluster and rsync-cluster connect to: the named cluster's leader, found through
 * EC2. Input is checked before any cloud call; `beforeCloud` adds a command's own checks there.
 */
export async function clusterLeaderAddress(
  name: string,
  f: { provisioner?: string; zone?: string } & ClusterLoggingFlags,
  beforeCloud?: () => void,
): Promise<string> {
  const clusterName = validateClusterName(name);
  checkProvisioner(f.provisioner);
  beforeCloud?.();
  const region = await clusterRegion(f.zone);
  const log = clusterLogger(f);
  const clock = new RealClock();
  const { createClusterCalls } = await import('../main/awsClients.js');
  const { calls, close } = await createClusterCalls({ region, clock, log });
  try {
    return await leaderAddress(calls, clusterName, clock, log, region);
  } finally {
    close();
  }
}

/**
 * The region ssh-, rsync- and destroy-cluster find the cluster in: --zone's or TOIL_AWS_ZONE's,
 * else TOIL_AWS_REGION, AWS_REGION, AWS_DEFAULT_REGION, else the AWS profile's region (Toil's
 * order: a configured region stands for its first zone), so `toil destroy-cluster NAME` works as
 * Toil's docs write it after `aws configure`.
 */
export async function clusterRegion(zoneFlag: string | undefined): Promise<string> {
  const env = clusterEnvironment();
  let configured = env.configuredRegion;
  if (!zoneFlag?.trim() && !env.zone && !configured) {
    const { sdkConfiguredRegion } = await import('../main/awsClients.js');
    const region = await sdkConfiguredRegion();
    if (region) configured = { region, source: 'the AWS profile' };
  }
  return resolveClusterRegion(zoneFlag, env.zone, configured).region;
}
