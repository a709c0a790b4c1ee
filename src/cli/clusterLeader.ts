import type { Logger } from '../common/log.js';
import type { Ec2Calls } from '../provisioner/aws/ec2Calls.js';
import { RealClock, type Clock } from '../common/clock.js';
import { clusterEnvironment } from '../main/env.js';
import { checkProvisioner } from '../provisioner/cluster/cliSupport.js';
import { clusterLogger, type ClusterLoggingFlags } from './clusterLogging.js';
import { leaderAddress } from '../provisioner/cluster/remote.js';
import {
  resolveClusterRegion,
  validateClusterName,
  type ClusterPlace,
} from '../provisioner/cluster/validate.js';

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
  const place = await clusterRegion(f.zone);
  const { region } = place;
  const log = clusterLogger(f);
  const clock = new RealClock();
  const { createClusterCalls } = await import('../main/awsClients.js');
  const { calls, close } = await createClusterCalls({ region, clock, log });
  try {
    await checkPlace(calls, clusterName, place, clock, log);
    const leader = await leaderAddress(calls, clusterName, clock, log, region);
    const { groupsClosedToSsh } = await import('../provisioner/aws/sshIngress.js');
    const closed = await groupsClosedToSsh(calls, leader.instanceId);
    if (closed) process.stderr.write(`${sshClosedNotice(clusterName, region, closed)}\n`);
    return leader.ip;
  } finally {
    close();
  }
}

/**
 * Toil opens SSH to the world; toil-ts only to launch-cluster's --sshCidr. Without it ssh waits
 * for an answer EC2 never lets through, then times out with no word of why: said before it tries.
 */
function sshClosedNotice(clusterName: string, region: string, groupIds: readonly string[]): string {
  return `toil: no security group of the leader of '${clusterName}' (${groupIds.join(', ')}) lets SSH (TCP 22) in, so ssh will time out: launch-cluster opens it only to --sshCidr; open it to your address with 'aws ec2 authorize-security-group-ingress --region ${region} --group-id ${groupIds[0]} --protocol tcp --port 22 --cidr YOUR.IP/32'`;
}

/**
 * The region ssh-, rsync- and destroy-cluster find the cluster in: --zone's or TOIL_AWS_ZONE's,
 * else TOIL_AWS_REGION, AWS_REGION, AWS_DEFAULT_REGION, else the AWS profile's region (Toil's
 * order: a configured region stands for its first zone), so `toil destroy-cluster NAME` works as
 * Toil's docs write it after `aws configure`.
 */
export async function clusterRegion(zoneFlag: string | undefined): Promise<ClusterPlace> {
  const env = clusterEnvironment();
  let configured = env.configuredRegion;
  if (!zoneFlag?.trim() && !env.zone && !configured) {
    const { sdkConfiguredRegion } = await import('../main/awsClients.js');
    const region = await sdkConfiguredRegion();
    if (region) configured = { region, source: 'the AWS profile' };
  }
  return resolveClusterRegion(zoneFlag, env.zone, configured);
}

/**
 * The check of the zone or region a command was given against EC2's, before it reaches, makes or
 * removes anything (checkClusterPlace): ssh-, rsync- and destroy-cluster's, an autoscaled run's.
 */
export async function checkPlace(
  calls: Ec2Calls,
  clusterName: string,
  place: ClusterPlace,
  clock: Clock,
  log: Logger,
): Promise<void> {
  const [{ AwsCluster }, { checkClusterPlace }, { partitionRegionNames }] = await Promise.all([
    import('../provisioner/aws/awsCluster.js'),
    import('../provisioner/cluster/validate.js'),
    import('../main/awsClients.js'),
  ]);
  const cluster = new AwsCluster({ calls, clusterName, clock, log });
  await checkClusterPlace(
    {
      regionNames: () => partitionRegionNames({ region: place.region, clock, log }),
      zoneNames: () => cluster.zoneNames(),
    },
    place,
  );
}

/**
 * The zone an autoscaled `toil run` launches in: --zone, else TOIL_AWS_ZONE, else the first zone
 * ("a") of a region the user configured (TOIL_AWS_REGION, AWS_REGION, AWS_DEFAULT_REGION, the AWS
 * profile's), as Toil's get_best_aws_zone falls back (a zone wins over a configured region);
 * `source` names where it came from, for messages. The leader's config checks a zone's form; the
 * cloud says whether the region has it, before the run makes anything (checkRunZone).
 */
export async function runZone(zoneFlag: string | undefined): Promise<{ zone: string; source: string }> {
  const given = zoneFlag?.trim();
  const env = clusterEnvironment();
  if (given || env.zone) {
    const zone = given ?? env.zone!;
    return { zone, source: given ? `--zone ${zone}` : `TOIL_AWS_ZONE=${zone}` };
  }
  const { region } = await clusterRegion(undefined);
  const source = env.configuredRegion
    ? `${env.configuredRegion.source}=${region}`
    : `the AWS profile's region ${region}`;
  return { zone: `${region}a`, source: `${source} (its zone ${region}a, as Toil takes it)` };
}
