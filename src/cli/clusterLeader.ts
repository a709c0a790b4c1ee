import { RealClock } from '../common/clock.js';
import { clusterEnvironment } from '../main/env.js';
import { checkProvisioner, cliLogger } from '../provisioner/cluster/cliSupport.js';
import { leaderAddress } from '../provisioner/cluster/remote.js';
import { regionOfZone, resolveZone, validateClusterName } from '../provisioner/cluster/validate.js';

/** The flags ssh-cluster and rsync-cluster share (Toil's). */
export interface RemoteFlags {
  readonly provisioner?: string;
  readonly zone?: string;
  readonly insecure: boolean;
  readonly sshOption: string[];
  readonly logLevel?: string;
}

/**
 * The address ssh-cluster and rsync-cluster connect to: the named cluster's leader, found through
 * EC2. Input is checked before any cloud call; `beforeCloud` adds a command's own checks there.
 */
export async function clusterLeaderAddress(
  name: string,
  f: { provisioner?: string; zone?: string; logLevel?: string },
  beforeCloud?: () => void,
): Promise<string> {
  const clusterName = validateClusterName(name);
  checkProvisioner(f.provisioner);
  beforeCloud?.();
  const { zone, source } = resolveZone(f.zone, clusterEnvironment().zone);
  const log = cliLogger(f.logLevel);
  const clock = new RealClock();
  const { createClusterCalls } = await import('../main/awsClients.js');
  const { calls, close } = await createClusterCalls({ region: regionOfZone(zone, source), clock, log });
  try {
    return await leaderAddress(calls, clusterName, clock, log);
  } finally {
    close();
  }
}
