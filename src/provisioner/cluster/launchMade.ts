import type { AwsCluster, GroupMade } from '../aws/awsCluster.js';
import type { ClusterIam } from '../aws/clusterIam.js';
import type { ClusterMungeKey } from '../aws/mungeKey.js';

/**
 * What one launch-cluster has made so far, noted as it asks the cloud for each thing: a launch
 * that fails or is interrupted removes these and nothing else. A name's roles, profile, group or
 * munge key left by an earlier launch are reused, not made, and stay; so does what a concurrent
 * launch of the name made. Something asked for with no answer back may have been made: it is
 * noted, and looked for by name (with the cluster's tag) when removing.
 */
export class LaunchMade implements GroupMade {
  /** `role/NAME`, `instance-profile/NAME` (ClusterIam.ensure keeps it). */
  readonly iam = new Set<string>();
  group?: { readonly vpcId: string; groupId?: string };
  /** The munge key was stored where the cluster had none. */
  mungeKey = false;
  /** The leader's RunInstances was sent with this ClientToken (its instance is found by it). */
  leaderToken: string | undefined;

  get empty(): boolean {
    return this.iam.size === 0 && !this.group && !this.mungeKey && this.leaderToken === undefined;
  }
}

export interface LaunchRemoval {
  /** What was removed, as a person reads it: `leader i-…`, `security group sg-…`, `IAM role NAME`. */
  readonly removed: readonly string[];
  /** What may still exist, named the same way, when a removal failed; empty when all went. */
  readonly left: readonly string[];
  /** Why the removal stopped (the failed call's message), when it did. */
  readonly failure?: string;
}

/**
 * Removes what the launch made, in the order they depend on each other: its leader (terminated,
 * and waited for, so nothing holds the group or the profiles), its security group, its instance
 * profiles and roles, its munge key. A step that fails stops the removal: what it and the later
 * steps would have removed is `left`, for destroy-cluster to finish.
 */
export async function removeWhatLaunchMade(
  made: LaunchMade,
  deps: {
    cluster: AwsCluster;
    iam?: ClusterIam;
    mungeKey?: ClusterMungeKey;
    progress: (line: string) => void;
  },
  wait: { timeoutMs: number; pollMs: number },
): Promise<LaunchRemoval> {
  const { cluster, progress } = deps;
  const removed: string[] = [];
  const steps: { left: () => string[]; run: () => Promise<void> }[] = [];
  if (made.leaderToken !== undefined) {
    const token = made.leaderToken;
    steps.push({
      left: () => [`the leader (ClientToken ${token})`],
      run: async () => {
        const ids = (await cluster.liveByClientToken(token)).map((n) => n.instanceId);
        if (ids.length === 0) return;
        progress(`terminating leader ${ids.join(', ')}`);
        await cluster.terminate(ids);
        await cluster.waitFor(ids, ['terminated'], wait);
        removed.push(...ids.map((id) => `leader ${id}`));
      },
    });
  }
  const group = made.group;
  if (group) {
    steps.push({
      left: () => [`security group ${group.groupId ?? `'${cluster.clusterName}'`}`],
      run: async () => {
        const groupId = group.groupId ?? (await cluster.findSecurityGroup(group.vpcId))?.groupId;
        if (groupId === undefined) return;
        progress(`deleting security group ${groupId}`);
        await cluster.deleteSecurityGroup(groupId, wait);
        removed.push(`security group ${groupId}`);
      },
    });
  }
  const iam = deps.iam;
  if (iam && made.iam.size > 0) {
    const iamRemoved: string[] = [];
    steps.push({
      left: () => [...made.iam].filter((x) => !iamRemoved.includes(x)).map(iamObject),
      run: async () => {
        try {
          await iam.remove(progress, [], { only: made.iam, removed: iamRemoved });
        } finally {
          removed.push(...iamRemoved.map(iamObject));
        }
      },
    });
  }
  const mungeKey = deps.mungeKey;
  if (mungeKey && made.mungeKey) {
    steps.push({
      left: () => [`munge key ${mungeKey.parameter}`],
      run: async () => {
        if ((await mungeKey.remove()) !== 'deleted') return;
        progress(`deleted the cluster's munge key ${mungeKey.parameter} (SSM)`);
        removed.push(`munge key ${mungeKey.parameter}`);
      },
    });
  }
  for (const [i, step] of steps.entries()) {
    try {
      await step.run();
    } catch (e) {
      return {
        removed,
        left: steps.slice(i).flatMap((s) => s.left()),
        failure: e instanceof Error ? e.message : String(e),
      };
    }
  }
  return { removed, left: [] };
}

/** `role/NAME` as a person reads it. */
function iamObject(what: string): string {
  return what.startsWith('role/')
    ? `IAM role ${what.slice('role/'.length)}`
    : `instance profile ${what.slice('instance-profile/'.length)}`;
}

/**
 * The end of the launch's one error line: what was removed, or what may be left and the command
 * that removes it (destroy-cluster removes everything of the cluster's name); '' when the launch
 * had made nothing that was there to remove.
 */
export function removalSummary(r: LaunchRemoval, clusterName: string, zone: string): string {
  const removed = r.removed.length > 0 ? `removed what the launch made: ${r.removed.join(', ')}` : '';
  if (r.left.length === 0) return removed;
  return (
    `${removed ? `${removed}; ` : ''}could not remove ${r.left.join(', ')} (${r.failure ?? 'unknown failure'}): ` +
    `remove ${r.left.length === 1 ? 'it' : 'them'} with 'toil destroy-cluster ${clusterName} --zone ${zone}'`
  );
}
