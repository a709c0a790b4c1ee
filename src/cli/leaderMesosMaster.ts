import type { Clock } from '../common/clock.js';
import { ToilError, UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { MESOS_PORT as LEADER_MESOS_PORT } from '../provisioner/aws/userData.js';
import type { MesosMasterFlag } from './mesosMasterFlag.js';

/** The cluster's running leader instance, as a run on the cluster needs it. */
export interface ClusterLeader {
  readonly instanceId: string;
  /** The image it booted, which the run's workers boot too unless TOIL_AWS_AMI names another. */
  readonly imageId: string | undefined;
}

/** The line a run prints when it took the default: which master, and why that one. */
export function defaultMasterLine(m: MesosMasterFlag): string {
  return `toil: no --mesosMaster given: using ${m.address}, ${m.defaulted ?? 'the default'} (Toil's default: the leader's own address, port ${LEADER_MESOS_PORT})`;
}

/**
 * `toil run --provisioner aws --batchSystem mesos` without `--mesosMaster`: Toil's default, the
 * leader's own address, port 5050. Here the leader is the cluster's leader instance, found through
 * EC2, and its private address is the one each worker's Mesos agent is started with
 * (`--master=<leader private IP>:5050`), so the run and its workers meet at the same master.
 * Anything that keeps the address from being known is said with the flag that avoids the lookup.
 */
export async function leaderMesosMaster(options: {
  readonly clusterName: string;
  readonly region: string;
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<{ readonly master: MesosMasterFlag; readonly leader: ClusterLeader }> {
  const { clusterName } = options;
  try {
    const leader = await leaderOf(options);
    const master: MesosMasterFlag = {
      flag: '--mesosMaster',
      address: `${leader.ip}:${LEADER_MESOS_PORT}`,
      defaulted: `the private address of cluster ${clusterName}'s leader ${leader.instanceId}`,
    };
    return { master, leader: { instanceId: leader.instanceId, imageId: leader.imageId } };
  } catch (e) {
    // A user's to fix (no such cluster, no credentials): said with why the cloud was asked at all.
    if (!(e instanceof ToilError) || e.disposition !== 'user') throw e;
    throw new UserInputError(
      e.code,
      `no --mesosMaster given, and its default (the private address of cluster ${clusterName}'s leader, port ` +
        `${LEADER_MESOS_PORT}) is unknown: ${e.message}; or give --mesosMaster HOST:PORT`,
      e.details,
    );
  }
}

/**
 * The cluster's running leader, and a run whose cluster is not there (a typo in --clusterName or
 * --zone) refused before anything is made: its workers are launched with the leader's address,
 * groups and profile, so without a running leader the first launch failed, after the job store
 * was created and the run had to be resumed with --restart. The same lookup as the default
 * --mesosMaster's, and its same errors (the clusters the region does have are named).
 */
export async function clusterLeader(options: {
  readonly clusterName: string;
  readonly region: string;
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<ClusterLeader> {
  const { instanceId, imageId } = await leaderOf(options);
  return { instanceId, imageId };
}

/**
 * The zone an autoscaled run launches its workers in, checked against its region's zones before
 * anything is made, as launch-cluster checks its own: a zone the region lacks (`us-west-2z`) only
 * failed the first launch, after the job store was made and jobs had run, as a missing subnet, and
 * a run whose static workers sufficed went through without a word of it.
 */
export async function checkRunZone(options: {
  readonly zone: string;
  /** Where the zone came from (`--zone us-west-2z`, `TOIL_AWS_ZONE=…`), as the refusal names it. */
  readonly source: string;
  readonly clusterName: string;
  readonly region: string;
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<void> {
  const [{ createClusterCalls }, { checkPlace }] = await Promise.all([
    import('../main/awsClients.js'),
    import('./clusterLeader.js'),
  ]);
  const { zone, source, clusterName, region, clock, log } = options;
  const { calls, close } = await createClusterCalls({ region, clock, log });
  try {
    await checkPlace(calls, clusterName, { region, zone, source }, clock, log);
  } finally {
    close();
  }
}

/** The cluster's running leader, found through EC2 in `region`; refused (NO_SUCH_CLUSTER, …) without one. */
async function leaderOf(options: {
  readonly clusterName: string;
  readonly region: string;
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<{ readonly ip: string; readonly instanceId: string; readonly imageId: string | undefined }> {
  const [{ createClusterCalls }, { leaderPrivateAddress }] = await Promise.all([
    import('../main/awsClients.js'),
    import('../provisioner/cluster/remote.js'),
  ]);
  const { clusterName, region, clock, log } = options;
  const { calls, close } = await createClusterCalls({ region, clock, log });
  try {
    return await leaderPrivateAddress(calls, clusterName, clock, log, region);
  } finally {
    close();
  }
}
