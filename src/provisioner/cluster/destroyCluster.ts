import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { AwsCluster, type ClusterNamedGroup } from '../aws/awsCluster.js';
import type { ClusterIam } from '../aws/clusterIam.js';
import type { Ec2Calls } from '../aws/ec2Calls.js';
import type { ClusterMungeKey } from '../aws/mungeKey.js';
import type { ClusterJobStore } from '../aws/clusterJobStores.js';
import { UserInputError } from '../../common/errors.js';
import { clustersHere } from './clustersHere.js';
import { newDestroyProgress, type DestroyProgress } from './destroyProgress.js';

export interface DestroyResult {
  readonly terminated: readonly string[];
  readonly spotRequestsCancelled: readonly string[];
  readonly securityGroupsDeleted: readonly string[];
  /** `role/NAME` and `instance-profile/NAME` removed. */
  readonly iamRemoved: readonly string[];
  /** SSM parameters deleted (a Slurm cluster's munge key). */
  readonly parametersDeleted: readonly string[];
}

/**
 * `toil destroy-cluster`: the leader first (waiting until it is gone, so it cannot launch more
 * workers), then open spot requests, then every other instance (waiting), then the security
 * group (while it is in use, ending any worker launched since by a leader running elsewhere), then the cluster's IAM roles, their policies and instance profiles, then a Slurm
 * cluster's munge key (SSM). Stopped instances
 * are included; anything already gone is skipped, so running it again, or after a half-finished
 * run, is safe. A name that finds nothing is fine (nothing to destroy), said naming the clusters
 * that do exist there, so a typo shows; it is refused (UserInputError, exit 2) only where the name
 * is shown to be another's: its IAM roles are for another region, or its security group, IAM roles
 * or profiles, or munge key parameter are not toil-ts's.
 */
export async function destroyCluster(
  clusterName: string,
  deps: {
    calls: Ec2Calls;
    clock: Clock;
    log: Logger;
    progress: (line: string) => void;
    /** Absent on the local cloud without an IAM endpoint (it made none). */
    iam?: ClusterIam;
    /** Absent on the local cloud without an SSM endpoint (it made none). */
    mungeKey?: ClusterMungeKey;
    /** Kept up to date as the destroy goes (what an interrupted one says it had done). */
    done?: DestroyProgress;
    /**
     * The job stores made on the cluster whose buckets still exist, named once it is destroyed:
     * destroy-cluster leaves them (their data may be wanted), and they bill until removed. Absent
     * on the local cloud without an S3 endpoint.
     */
    jobStoresLeft?: () => Promise<readonly ClusterJobStore[]>;
  },
  /** `region`: named when nothing of the cluster is found (it may come from the AWS profile). */
  options: { timeoutMs: number; pollMs: number; region?: string },
): Promise<DestroyResult> {
  const { progress } = deps;
  const cluster = new AwsCluster({ calls: deps.calls, clusterName, clock: deps.clock, log: deps.log });
  const wait = { timeoutMs: options.timeoutMs, pollMs: options.pollMs };
  const terminated: string[] = [];
  const done = deps.done ?? newDestroyProgress();
  const terminate = async (ids: readonly string[]): Promise<void> => {
    // Asked before the answer comes: an interruption meanwhile may have reached EC2.
    done.terminating.push(...ids);
    await cluster.terminate(ids);
  };

  if (deps.iam) {
    const n = deps.iam.names;
    done.iamNames.push(
      ...[n.leaderRole, n.workerRole].map((r) => `role/${r}`),
      ...[n.leaderProfile, n.workerProfile].map((r) => `instance-profile/${r}`),
    );
  }
  if (deps.mungeKey) done.parameters.push(deps.mungeKey.parameter);
  const found = await cluster.liveInstancesAndGroups();
  const before = found.instances;
  done.found = { instances: before.map((n) => n.instanceId), securityGroups: [...found.ownGroups] };
  const foundInstances = (ids: readonly string[]): void => {
    done.found!.instances.push(...ids.filter((id) => !done.found!.instances.includes(id)));
  };
  const leaders = before.filter((n) => n.role === 'leader');
  if (leaders.length > 0) {
    const ids = leaders.map((n) => n.instanceId);
    progress(`terminating leader ${ids.join(', ')} (${leaders.map((n) => n.state).join(', ')})`);
    await terminate(ids);
    await cluster.waitFor(ids, ['terminated'], wait);
    terminated.push(...ids);
  }

  // Instances may have appeared while the leader was going: look again.
  const rest = (await cluster.liveInstances()).filter(
    (n) => n.role !== 'leader' || !terminated.includes(n.instanceId),
  );
  foundInstances(rest.map((n) => n.instanceId));
  const spot = await cluster.openSpotRequests(rest.map((n) => n.instanceId));
  done.spotRequestsFound = [...spot];
  if (spot.length > 0) {
    progress(`cancelling ${spot.length} spot request(s)`);
    await cluster.cancelSpotRequests(spot);
    done.spotRequestsCancelled.push(...spot);
  }
  if (rest.length > 0) {
    const ids = rest.map((n) => n.instanceId);
    progress(`terminating ${ids.length} worker(s)`);
    await terminate(ids);
    await cluster.waitFor(ids, ['terminated'], wait);
    terminated.push(...ids);
  }

  // A leader still running elsewhere (a `toil run --provisioner aws` on another machine) knew the
  // leader and the group before they went, and may launch into the cluster until the group is
  // gone: while the group is in use, what it launched since is ended too, not left billing.
  const spotCancelled = [...spot];
  const endLate = async (): Promise<void> => {
    const late = (await cluster.liveInstances()).filter(
      (n) => !terminated.includes(n.instanceId) && n.state !== 'shutting-down',
    );
    if (late.length === 0) return;
    const ids = late.map((n) => n.instanceId);
    foundInstances(ids);
    const requests = (await cluster.openSpotRequests(ids)).filter((r) => !spotCancelled.includes(r));
    done.spotRequestsFound?.push(...requests);
    await cluster.cancelSpotRequests(requests);
    spotCancelled.push(...requests);
    done.spotRequestsCancelled.push(...requests);
    progress(
      `terminating ${ids.length} worker(s) launched while the cluster was destroyed: ${ids.join(', ')} ` +
        '(a leader of the cluster still runs elsewhere, a toil run --provisioner aws on another machine say: stop it)',
    );
    await terminate(ids);
    terminated.push(...ids);
  };
  const groups: string[] = [];
  done.step = 'security group';
  for (let group = await cluster.findSecurityGroup(); group; group = await cluster.findSecurityGroup()) {
    if (!done.found.securityGroups.includes(group.groupId)) done.found.securityGroups.push(group.groupId);
    progress(`deleting security group ${group.groupId}`);
    await cluster.deleteSecurityGroup(group.groupId, { ...wait, inUse: endLate });
    groups.push(group.groupId);
    done.securityGroupsDeleted.push(group.groupId);
  }
  done.step = 'IAM';
  // Last: no instance holds the profiles any more. IAM is global: roles whose policy is for
  // another region are a cluster of this name there (a wrong --zone here), still running on them.
  const iamRegion = deps.iam && options.region ? await deps.iam.policyRegion('destroy-cluster') : undefined;
  const iamElsewhere = iamRegion !== undefined && iamRegion !== options.region ? iamRegion : undefined;
  if (iamElsewhere !== undefined)
    progress(
      `left IAM roles ${deps.iam!.names.leaderRole}, ${deps.iam!.names.workerRole}: they are for region ${iamElsewhere}, where a cluster named '${clusterName}' may run (destroy it there with a --zone of ${iamElsewhere})`,
    );
  const iamLeftAlone: string[] = [];
  const iamRemoved =
    deps.iam && iamElsewhere === undefined ? await deps.iam.remove(progress, iamLeftAlone) : [];
  done.iamRemoved.push(...iamRemoved);
  done.step = 'munge key';
  const parametersDeleted: string[] = [];
  const mungeKey = await deps.mungeKey?.remove();
  if (mungeKey === 'left')
    progress(
      `SSM parameter ${deps.mungeKey!.parameter} exists but toil-ts did not make it for cluster '${clusterName}' (no clusterName tag of it): left alone`,
    );
  if (mungeKey === 'deleted') {
    progress(`deleted the cluster's munge key ${deps.mungeKey!.parameter} (SSM)`);
    parametersDeleted.push(deps.mungeKey!.parameter);
    done.parametersDeleted.push(deps.mungeKey!.parameter);
  }
  done.step = 'done';
  // A group of the cluster's name toil-ts did not make (no clusterName tag) is someone else's:
  // neither it nor the instances in it were touched above.
  const foreign = (await cluster.securityGroupsNamedAfterCluster()).filter((g) => !g.madeByToil);
  const leftAlone = foreign.length > 0 ? foreignGroupsLeftAlone(clusterName, foreign) : undefined;
  if (
    terminated.length === 0 &&
    groups.length === 0 &&
    spotCancelled.length === 0 &&
    iamRemoved.length === 0 &&
    parametersDeleted.length === 0
  ) {
    const gone = await cluster.terminatedCount();
    const region = options.region ? `region ${options.region}` : 'this region';
    if (gone === 0 && leftAlone !== undefined)
      throw new UserInputError(
        'CLUSTER_NOT_FOUND',
        `no toil-ts cluster named '${clusterName}' in ${region}; ${leftAlone}`,
        {
          clusterName,
          foreignSecurityGroups: foreign.map((g) => g.groupId),
        },
      );
    // Only IAM objects or a munge key parameter of the name that toil-ts did not make: the name is
    // another's, as a foreign security group shows it.
    const parametersLeftAlone = mungeKey === 'left' ? [deps.mungeKey!.parameter] : [];
    const notToils = [
      ...iamLeftAlone.map(iamObjectNamed),
      ...parametersLeftAlone.map((p) => `SSM parameter ${p}`),
    ];
    if (gone === 0 && notToils.length > 0)
      throw new UserInputError(
        'CLUSTER_NOT_FOUND',
        `no toil-ts cluster named '${clusterName}' in ${region}; ${notToils.join(', ')} ` +
          `${notToils.length === 1 ? 'exists' : 'exist'} but toil-ts did not make ` +
          `${notToils.length === 1 ? 'it' : 'them'} (no clusterName tag): left alone`,
        { clusterName, iamLeftAlone, parametersLeftAlone },
      );
    // A name with nothing at all of it here is not refused for that alone: a launch-cluster that
    // failed or was interrupted removed all it made, and a cluster destroyed more than an hour ago
    // (EC2 forgets terminated instances) look the same, and `launch-cluster X || destroy-cluster
    // X` must succeed. A name shown to be wrong (its roles are for another region) is refused.
    if (gone === 0 && iamElsewhere !== undefined)
      throw new UserInputError(
        'CLUSTER_NOT_FOUND',
        `no cluster named '${clusterName}' in ${region} (no instance or security group of it, live or ` +
          `recently terminated); its IAM roles are for region ${iamElsewhere}: give a --zone there`,
        { clusterName, iamRegion: iamElsewhere },
      );
    if (gone === 0) {
      const others = await cluster.clusterNamesInRegion();
      progress(
        `nothing to destroy: nothing of cluster '${clusterName}' is in ${region} (no instance, security group, ` +
          `IAM role or munge key of it, live or recently terminated); ${clustersHere(others)}`,
      );
    } else
      progress(
        `nothing left of cluster '${clusterName}': already destroyed (${gone} instance(s) terminated)`,
      );
  } else progress(`cluster '${clusterName}' destroyed`);
  if (leftAlone !== undefined) progress(leftAlone);
  if (deps.jobStoresLeft) await nameJobStoresLeft(clusterName, deps.jobStoresLeft, progress);
  return {
    terminated,
    spotRequestsCancelled: spotCancelled,
    securityGroupsDeleted: groups,
    iamRemoved,
    parametersDeleted,
  };
}

/** One line per job store made on the cluster that still exists; a failed look is said, not fatal. */
async function nameJobStoresLeft(
  clusterName: string,
  find: () => Promise<readonly ClusterJobStore[]>,
  progress: (line: string) => void,
): Promise<void> {
  let stores: readonly ClusterJobStore[];
  try {
    stores = await find();
  } catch (e) {
    progress(
      `could not look in S3 for job stores made on cluster '${clusterName}' (${e instanceof Error ? e.message : String(e)}): any left still exist and bill until 'toil clean' removes them`,
    );
    return;
  }
  for (const s of stores)
    progress(
      `job store ${s.locator} (bucket ${s.bucket}), made on cluster '${clusterName}', still exists and bills until removed: toil clean ${s.locator}`,
    );
}

/** `role/NAME`, `instance-profile/NAME` (as ClusterIam lists them) as a sentence names them. */
function iamObjectNamed(listed: string): string {
  const [kind, ...name] = listed.split('/');
  return `${kind === 'role' ? 'IAM role' : 'instance profile'} ${name.join('/')}`;
}

function foreignGroupsLeftAlone(clusterName: string, groups: readonly ClusterNamedGroup[]): string {
  const ids = groups.map((g) => g.groupId).join(', ');
  return groups.length === 1
    ? `a security group '${clusterName}' (${ids}) exists but toil-ts did not make it: left alone`
    : `security groups '${clusterName}' (${ids}) exist but toil-ts did not make them: left alone`;
}
