import type { Filter, Image, Instance, IpPermission } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../common/awsSdkPackages.js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { ProvisionerError, isProvisionerError } from '../errors.js';
import type { NodeState, ProvisionedNode } from '../../ports/provisioner.js';
import type { Ec2Calls } from './ec2Calls.js';
import { idsInMessage, toNode } from './instances.js';
import { notToilsRefusal, type NotToils } from './notToils.js';
import { TAG_CLUSTER, fromTagList, toTagList } from './tags.js';

const {
  AuthorizeSecurityGroupIngressCommand,
  CancelSpotInstanceRequestsCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeAvailabilityZonesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeRegionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  DescribeSubnetsCommand,
  TerminateInstancesCommand,
} = ec2Sdk();

/**
 * Every region of the partition EC2 is asked in, opted into or not; undefined when EC2 will not
 * say (credentials without ec2:DescribeRegions, as a leader's role has none; an endpoint that lacks
 * the action), so a region is never refused for want of an answer.
 */
export async function ec2RegionNames(calls: Ec2Calls): Promise<string[] | undefined> {
  try {
    const out = await calls.call('DescribeRegions', (c) =>
      c.send(new DescribeRegionsCommand({ AllRegions: true })),
    );
    return (out.Regions ?? []).flatMap((r) => (r.RegionName ? [r.RegionName] : []));
  } catch (e) {
    if (isProvisionerError(e, 'NOT_AUTHORISED') || isProvisionerError(e, 'REQUEST_REJECTED'))
      return undefined;
    throw e;
  }
}

/** Flatcar's AWS account, which publishes the stable images Toil boots. */
export const FLATCAR_OWNER = '075585003325';

/** A machine image the nodes boot. */
export interface NodeImage {
  readonly imageId: string;
  /**
   * The size of its root device's snapshot in GiB, which EC2 makes a node's root volume from and
   * refuses a smaller root volume of (InvalidBlockDeviceMapping); undefined when the image lists none.
   */
  readonly rootSnapshotGiB: number | undefined;
}

function nodeImageOf(image: Image): NodeImage | undefined {
  if (!image.ImageId) return undefined;
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName);
  return { imageId: image.ImageId, rootSnapshotGiB: root?.Ebs?.VolumeSize };
}

export interface ClusterNamedGroup {
  readonly groupId: string;
  readonly vpcId: string;
  /** Tagged with this cluster's name, as every group launch-cluster makes is. */
  readonly madeByToil: boolean;
}

export interface SecurityGroupRef {
  readonly groupId: string;
  readonly vpcId: string;
  readonly created: boolean;
}

/**
 * The group a launch asked EC2 to create, set as it asks (the id once EC2 gives it): a launch
 * failing later removes it. Cleared when EC2 refuses the create; kept when no answer came (it may
 * have been made: looked for by name when removing).
 */
export interface GroupMade {
  group?: { readonly vpcId: string; groupId?: string };
}

/**
 * Account- and cluster-level EC2 operations the cluster utilities need beyond the Provisioner port:
 * zones, key pairs, images, the default subnet, the cluster's security group, spot requests, and
 * waiting for instances to reach a state.
 */
export class AwsCluster {
  readonly clusterName: string;
  private readonly calls: Ec2Calls;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(options: { calls: Ec2Calls; clusterName: string; clock: Clock; log: Logger }) {
    this.calls = options.calls;
    this.clusterName = options.clusterName;
    this.clock = options.clock;
    this.log = options.log.child({ component: 'cluster', cluster: options.clusterName });
  }

  async zoneNames(): Promise<string[]> {
    const out = await this.calls.call('DescribeAvailabilityZones', (c) =>
      c.send(new DescribeAvailabilityZonesCommand({})),
    );
    return (out.AvailabilityZones ?? []).map((z) => z.ZoneName ?? '').filter((z) => z !== '');
  }

  async keyPairExists(name: string): Promise<boolean> {
    try {
      const out = await this.calls.call('DescribeKeyPairs', (c) =>
        c.send(new DescribeKeyPairsCommand({ KeyNames: [name] })),
      );
      return (out.KeyPairs ?? []).some((k) => k.KeyName === name);
    } catch (e) {
      if (isProvisionerError(e, 'NOT_FOUND')) return false;
      throw e;
    }
  }

  /** The names of the region's key pairs, sorted (to name them when --keyPairName is not one). */
  async keyPairNames(): Promise<string[]> {
    const out = await this.calls.call('DescribeKeyPairs', (c) => c.send(new DescribeKeyPairsCommand({})));
    return (out.KeyPairs ?? []).flatMap((k) => (k.KeyName === undefined ? [] : [k.KeyName])).sort();
  }

  /** The newest Flatcar stable x86_64 image (what Toil boots when TOIL_AWS_AMI is not set). */
  async flatcarImage(): Promise<NodeImage | undefined> {
    const out = await this.calls.call('DescribeImages', (c) =>
      c.send(
        new DescribeImagesCommand({
          Owners: [FLATCAR_OWNER],
          Filters: [
            { Name: 'name', Values: ['Flatcar-stable-*'] },
            { Name: 'architecture', Values: ['x86_64'] },
            { Name: 'state', Values: ['available'] },
          ],
        }),
      ),
    );
    const images = (out.Images ?? []).sort((a, b) =>
      (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''),
    );
    return images[0] && nodeImageOf(images[0]);
  }

  /** The image of that id; undefined when the region has none (or none this account may launch). */
  async image(imageId: string): Promise<NodeImage | undefined> {
    try {
      const out = await this.calls.call('DescribeImages', (c) =>
        c.send(new DescribeImagesCommand({ ImageIds: [imageId] })),
      );
      const image = out.Images?.find((i) => i.ImageId === imageId);
      return image && nodeImageOf(image);
    } catch (e) {
      if (isProvisionerError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
  }

  /** The default subnet of the zone and its VPC (Toil puts the leader there). */
  async defaultSubnet(zone: string): Promise<{ subnetId: string; vpcId: string }> {
    const out = await this.calls.call('DescribeSubnets', (c) =>
      c.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'availability-zone', Values: [zone] },
            { Name: 'default-for-az', Values: ['true'] },
          ],
        }),
      ),
    );
    const s = out.Subnets?.[0];
    if (!s?.SubnetId || !s.VpcId)
      throw new ProvisionerError('NOT_FOUND', `the account has no default subnet in zone ${zone}`, {
        details: { zone },
      });
    return { subnetId: s.SubnetId, vpcId: s.VpcId };
  }

  /**
   * The subnet of that id: its VPC, its zone, and whether it gives instances a public address;
   * undefined when the region has no such subnet.
   */
  async subnet(
    subnetId: string,
  ): Promise<{ subnetId: string; vpcId: string; zone: string; mapPublicIpOnLaunch: boolean } | undefined> {
    try {
      const out = await this.calls.call('DescribeSubnets', (c) =>
        c.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })),
      );
      const s = out.Subnets?.find((x) => x.SubnetId === subnetId);
      if (!s?.VpcId || !s.AvailabilityZone) return undefined;
      return {
        subnetId,
        vpcId: s.VpcId,
        zone: s.AvailabilityZone,
        mapPublicIpOnLaunch: s.MapPublicIpOnLaunch ?? false,
      };
    } catch (e) {
      if (isProvisionerError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
  }

  /**
   * The security group of that id, its name and VPC, and whether it bears this cluster's
   * clusterName tag; undefined when the region has no such group.
   */
  async securityGroup(
    groupId: string,
  ): Promise<{ groupId: string; name: string; vpcId: string; taggedWithCluster: boolean } | undefined> {
    try {
      const out = await this.calls.call('DescribeSecurityGroups', (c) =>
        c.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] })),
      );
      const g = out.SecurityGroups?.find((x) => x.GroupId === groupId);
      return g?.VpcId
        ? {
            groupId,
            name: g.GroupName ?? '',
            vpcId: g.VpcId,
            taggedWithCluster: fromTagList(g.Tags)[TAG_CLUSTER] === this.clusterName,
          }
        : undefined;
    } catch (e) {
      if (isProvisionerError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
  }

  /**
   * Every security group named after the cluster (one a VPC at most, in any VPC unless `vpcId` is
   * given), each with whether toil-ts made it for this cluster: launch-cluster has always tagged
   * its group with the cluster's name (clusterName), and a group of the name without that tag is
   * someone else's, never to be reused, emptied or deleted.
   */
  async securityGroupsNamedAfterCluster(vpcId?: string): Promise<ClusterNamedGroup[]> {
    const filters: Filter[] = [{ Name: 'group-name', Values: [this.clusterName] }];
    if (vpcId) filters.push({ Name: 'vpc-id', Values: [vpcId] });
    const out = await this.calls.call('DescribeSecurityGroups', (c) =>
      c.send(new DescribeSecurityGroupsCommand({ Filters: filters })),
    );
    return (out.SecurityGroups ?? []).flatMap((g) =>
      g.GroupName === this.clusterName && g.GroupId && g.VpcId
        ? [
            {
              groupId: g.GroupId,
              vpcId: g.VpcId,
              madeByToil: fromTagList(g.Tags)[TAG_CLUSTER] === this.clusterName,
            },
          ]
        : [],
    );
  }

  /** The cluster's own security group (one toil-ts made for it), in `vpcId` or any VPC. */
  async findSecurityGroup(vpcId?: string): Promise<{ groupId: string; vpcId: string } | undefined> {
    const g = (await this.securityGroupsNamedAfterCluster(vpcId)).find((x) => x.madeByToil);
    return g ? { groupId: g.groupId, vpcId: g.vpcId } : undefined;
  }

  /**
   * The cluster's security group, named after the cluster: all traffic between its members, and
   * SSH (TCP 22) only from `sshCidr` when one is given. An existing group toil-ts made (left by
   * an earlier cluster of the name, Toil issue #1833) is reused and given the same rules: reused
   * as it was, one with no rules took no --sshCidr and kept the workers from reaching the leader's
   * Mesos. One of the name that toil-ts did not make is refused (SECURITY_GROUP_NOT_TOILS).
   */
  async ensureSecurityGroup(options: {
    vpcId: string;
    tags: Readonly<Record<string, string>>;
    sshCidr?: string;
    made?: GroupMade;
  }): Promise<SecurityGroupRef> {
    const existing = await this.reusableSecurityGroup(options.vpcId);
    if (existing) {
      await this.authorizeClusterRules(existing.groupId, options.sshCidr);
      return { ...existing, created: false };
    }
    const made = options.made;
    if (made) made.group = { vpcId: options.vpcId };
    let groupId: string;
    try {
      const out = await this.calls.call('CreateSecurityGroup', (c) =>
        c.send(
          new CreateSecurityGroupCommand({
            GroupName: this.clusterName,
            Description: 'Toil appliance security group',
            VpcId: options.vpcId,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: toTagList(options.tags) }],
          }),
        ),
      );
      groupId = out.GroupId ?? '';
      if (made?.group) made.group.groupId = groupId;
    } catch (e) {
      // Refused: nothing was made. No answer (EC2_UNAVAILABLE): it may have been, so it is looked for.
      if (made && !isProvisionerError(e, 'ALREADY_EXISTS') && !isProvisionerError(e, 'EC2_UNAVAILABLE'))
        made.group = undefined;
      // Created by a retry whose first answer was lost (the name was free just above, so the
      // group is this launch's), or by a concurrent launch: use it.
      if (!isProvisionerError(e, 'ALREADY_EXISTS')) throw e;
      const found = await this.reusableSecurityGroup(options.vpcId);
      if (!found) throw e;
      if (made?.group) made.group.groupId = found.groupId;
      await this.authorizeClusterRules(found.groupId, options.sshCidr);
      return { ...found, created: false };
    }
    await this.authorizeClusterRules(groupId, options.sshCidr);
    this.log.info({ groupId, sshCidr: options.sshCidr }, 'security group created');
    return { groupId, vpcId: options.vpcId, created: true };
  }

  /**
   * The cluster's group in the VPC, to reuse; a group of the name that toil-ts did not make is
   * refused: rules would be added to someone else's group and their instances share the cluster's.
   */
  private async reusableSecurityGroup(
    vpcId: string,
  ): Promise<{ groupId: string; vpcId: string } | undefined> {
    const g = (await this.securityGroupsNamedAfterCluster(vpcId))[0];
    if (g && !g.madeByToil)
      throw notToilsRefusal(this.clusterName, [foreignSecurityGroup(this.clusterName, g.groupId)]);
    return g ? { groupId: g.groupId, vpcId: g.vpcId } : undefined;
  }

  /** The cluster's ingress rules on `groupId`; a rule the group has already is left as it is. */
  private async authorizeClusterRules(groupId: string, sshCidr: string | undefined): Promise<void> {
    const permissions: IpPermission[] = [
      { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: groupId, Description: 'within the cluster' }] },
    ];
    if (sshCidr) {
      const v6 = sshCidr.includes(':');
      permissions.push({
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        ...(v6
          ? { Ipv6Ranges: [{ CidrIpv6: sshCidr, Description: 'ssh' }] }
          : { IpRanges: [{ CidrIp: sshCidr, Description: 'ssh' }] }),
      });
    }
    for (const p of permissions) {
      try {
        await this.calls.call('AuthorizeSecurityGroupIngress', (c) =>
          c.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [p] })),
        );
      } catch (e) {
        if (!isProvisionerError(e, 'ALREADY_EXISTS')) throw e;
      }
    }
  }

  /**
   * Every instance of the cluster not yet terminated: tagged with its name or in its group (Toil's
   * rule), where its group is one toil-ts made: instances in a same-named group of someone else's
   * are theirs.
   */
  async liveInstances(): Promise<ProvisionedNode[]> {
    return (await this.liveInstancesAndGroups()).instances;
  }

  /** liveInstances, and the ids of the cluster's own security groups they were looked up by. */
  async liveInstancesAndGroups(): Promise<{ instances: ProvisionedNode[]; ownGroups: string[] }> {
    const states: NodeState[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];
    const byTag = await this.describeAll([
      { Name: `tag:${TAG_CLUSTER}`, Values: [this.clusterName] },
      { Name: 'instance-state-name', Values: states },
    ]);
    const ownGroups = (await this.securityGroupsNamedAfterCluster())
      .filter((g) => g.madeByToil)
      .map((g) => g.groupId);
    const byGroup =
      ownGroups.length === 0
        ? []
        : await this.describeAll([
            { Name: 'instance.group-id', Values: ownGroups },
            { Name: 'instance-state-name', Values: states },
          ]);
    const seen = new Map<string, ProvisionedNode>();
    for (const i of [...byTag, ...byGroup]) if (i.InstanceId) seen.set(i.InstanceId, toNode(i));
    return { instances: [...seen.values()], ownGroups };
  }

  /** How many of this cluster's instances EC2 still lists as terminated (it keeps them about an hour). */
  async terminatedCount(): Promise<number> {
    const gone = await this.describeAll([
      { Name: `tag:${TAG_CLUSTER}`, Values: [this.clusterName] },
      { Name: 'instance-state-name', Values: ['terminated'] },
    ]);
    return gone.length;
  }

  /** The names of the clusters with an instance not yet terminated in this region, sorted. */
  async clusterNamesInRegion(): Promise<string[]> {
    const live = await this.describeAll([
      { Name: 'tag-key', Values: [TAG_CLUSTER] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
    ]);
    const names = new Set<string>();
    for (const i of live) {
      const name = fromTagList(i.Tags)[TAG_CLUSTER];
      if (name) names.add(name);
    }
    return [...names].sort();
  }

  /** The instances not yet terminated that RunInstances launched with that ClientToken. */
  async liveByClientToken(clientToken: string): Promise<ProvisionedNode[]> {
    const found = await this.describeAll([
      { Name: 'client-token', Values: [clientToken] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    return found.map(toNode);
  }

  async describeIds(ids: readonly string[]): Promise<ProvisionedNode[]> {
    if (ids.length === 0) return [];
    try {
      return (await this.describeAll([{ Name: 'instance-id', Values: [...ids] }])).map(toNode);
    } catch (e) {
      if (isProvisionerError(e, 'NOT_FOUND')) return [];
      throw e;
    }
  }

  private async describeAll(filters: Filter[]): Promise<Instance[]> {
    const out: Instance[] = [];
    let token: string | undefined;
    do {
      const page = await this.calls.call('DescribeInstances', (c) =>
        c.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 500, NextToken: token })),
      );
      for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      token = page.NextToken || undefined;
    } while (token);
    return out;
  }

  /** Terminates the ids; ones EC2 no longer knows are skipped. */
  async terminate(ids: readonly string[]): Promise<void> {
    let remaining = [...new Set(ids)];
    while (remaining.length > 0) {
      try {
        await this.calls.call('TerminateInstances', (c) =>
          c.send(new TerminateInstancesCommand({ InstanceIds: remaining })),
        );
        return;
      } catch (e) {
        if (!isProvisionerError(e, 'NOT_FOUND')) throw e;
        const gone = new Set(idsInMessage(e.message));
        const next = remaining.filter((id) => !gone.has(id));
        if (next.length === remaining.length) return;
        remaining = next;
      }
    }
  }

  /**
   * Polls until every id is in one of `states` (an id EC2 has forgotten counts as terminated).
   * Calls `onProgress` with the current states after each poll. Waiting for any other state, an
   * instance found terminated (or terminating) fails the wait at once: it will not get there.
   */
  async waitFor(
    ids: readonly string[],
    states: readonly NodeState[],
    options: { timeoutMs: number; pollMs: number; onProgress?: (nodes: ProvisionedNode[]) => void },
  ): Promise<ProvisionedNode[]> {
    const deadline = this.clock.now() + options.timeoutMs;
    for (;;) {
      const nodes = await this.describeIds(ids);
      options.onProgress?.(nodes);
      const known = new Map(nodes.map((n) => [n.instanceId, n]));
      const done = ids.every((id) => {
        const n = known.get(id);
        return n ? states.includes(n.state) : states.includes('terminated');
      });
      if (done) return nodes;
      // Gone for good (terminated by someone else: a destroy-cluster meanwhile, the console, EC2):
      // no wait brings it back, so say so now rather than at the deadline.
      const gone = states.includes('terminated')
        ? []
        : ids.filter((id) => {
            const state = known.get(id)?.state ?? 'terminated';
            return state === 'terminated' || state === 'shutting-down';
          });
      if (gone.length > 0)
        throw new ProvisionerError(
          'REQUEST_REJECTED',
          `instance(s) ${gone.join(', ')} of cluster '${this.clusterName}' terminated while waiting for ` +
            `${states.join('/')}: someone else ended them (a toil destroy-cluster meanwhile, the console, or EC2)`,
        );
      if (this.clock.now() >= deadline)
        throw new ProvisionerError(
          'REQUEST_REJECTED',
          `instances ${ids.join(', ')} did not reach ${states.join('/')} within ${Math.round(options.timeoutMs / 1000)} s`,
        );
      await this.clock.sleep(options.pollMs);
    }
  }

  /** Open or active spot requests of the cluster: tagged with its name, or feeding one of `instanceIds`. */
  async openSpotRequests(instanceIds: readonly string[]): Promise<string[]> {
    const found = new Set<string>();
    const queries: Filter[][] = [
      [
        { Name: `tag:${TAG_CLUSTER}`, Values: [this.clusterName] },
        { Name: 'state', Values: ['open', 'active'] },
      ],
    ];
    if (instanceIds.length > 0)
      queries.push([
        { Name: 'instance-id', Values: [...instanceIds] },
        { Name: 'state', Values: ['open', 'active'] },
      ]);
    for (const filters of queries) {
      const out = await this.calls.call('DescribeSpotInstanceRequests', (c) =>
        c.send(new DescribeSpotInstanceRequestsCommand({ Filters: filters })),
      );
      for (const r of out.SpotInstanceRequests ?? [])
        if (r.SpotInstanceRequestId) found.add(r.SpotInstanceRequestId);
    }
    return [...found];
  }

  async cancelSpotRequests(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.calls.call('CancelSpotInstanceRequests', (c) =>
      c.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: [...ids] })),
    );
  }

  /**
   * Deletes the group, retrying while EC2 still sees instances using it (they take a while to let
   * go after terminating). Resolves if the group is already gone.
   */
  async deleteSecurityGroup(
    groupId: string,
    options: {
      timeoutMs: number;
      pollMs: number;
      /** Called at each "still in use" before the next try (ends what still uses it). */
      inUse?: () => Promise<void>;
    },
  ): Promise<void> {
    const deadline = this.clock.now() + options.timeoutMs;
    for (;;) {
      try {
        await this.calls.call('DeleteSecurityGroup', (c) =>
          c.send(new DeleteSecurityGroupCommand({ GroupId: groupId })),
        );
        return;
      } catch (e) {
        if (isProvisionerError(e, 'NOT_FOUND')) return;
        if (!isProvisionerError(e, 'DEPENDENCY_VIOLATION') || this.clock.now() >= deadline) throw e;
        await options.inUse?.();
        await this.clock.sleep(options.pollMs);
      }
    }
  }
}

/**
 * A security group named after the cluster that toil-ts did not make (no clusterName tag of the
 * cluster): its name is taken in that VPC, and nothing of it is the cluster's to reuse or destroy.
 */
export function foreignSecurityGroup(clusterName: string, groupId: string): NotToils {
  return {
    code: 'SECURITY_GROUP_NOT_TOILS',
    named: `a security group named '${clusterName}' (${groupId})`,
    tagOf: 'a toil-ts cluster',
  };
}
