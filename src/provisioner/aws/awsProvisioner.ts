import type { Filter, Instance } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../../common/awsSdkPackages.js';
import type { Clock } from '../../common/clock.js';
import { ToilError } from '../../common/errors.js';
import { decimalText } from '../../common/units.js';
import type { Logger } from '../../common/log.js';
import { ProvisionerError, UnknownInstanceTypeError, isProvisionerError } from '../errors.js';
import type {
  InstanceTypeInfo,
  InterruptionNotice,
  LaunchRequest,
  LaunchResult,
  ListOptions,
  NodeState,
  ProvisionedNode,
  Provisioner,
  SpotPrice,
} from '../../ports/provisioner.js';
import { ROOT_VOLUME_TYPE, STATIC_WORKER_TAG } from '../../ports/provisioner.js';
import { heartbeatTags, type LeaderBeat } from '../../ports/leaderHeartbeat.js';
import { suggestNames } from '../../common/suggest.js';
import type { Ec2Calls } from './ec2Calls.js';
import { idsInMessage, toNode } from './instances.js';
import { workerProfileFor } from './iamPolicies.js';
import { TAG_CLUSTER, TAG_NODE_TYPE, clusterTags, nodeTags, toTagList } from './tags.js';
import { buildUserData, type ClusterType, type WorkerNodeType } from './userData.js';
import type { NodeInitCommands } from '../nodeInit.js';
import type { NodeS3Variables } from '../nodeS3Endpoint.js';

const {
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  DescribeSpotPriceHistoryCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} = ec2Sdk();

export interface AwsClusterSettings {
  readonly clusterName: string;
  /** The cluster's home zone (the leader's); region = the EC2 client's. */
  readonly zone: string;
  readonly imageId: string;
  readonly keyName?: string;
  readonly applianceImage: string;
  /** What every node runs as it boots (TOIL_CUSTOM_INIT_COMMAND, TOIL_CUSTOM_DOCKER_INIT_COMMAND). */
  readonly nodeInit?: NodeInitCommands;
  /** TOIL_S3_HOST, TOIL_S3_PORT, TOIL_S3_USE_SSL for every node's containers (nodeS3Variables). */
  readonly s3Variables?: NodeS3Variables;
  readonly owner: string;
  readonly extraTags: Readonly<Record<string, string>>;
  readonly nodeStorageGiB: number;
  /** launch-cluster's --nodeStorageOverrides, for the leader daemon's config (its workers' root per type). */
  readonly nodeStorageOverridesGiB?: Readonly<Record<string, number>>;
  readonly leaderStorageGiB: number;
  /** One instance profile for every node (--awsEc2ProfileArn). */
  readonly instanceProfileArn?: string;
  /** The profiles launch-cluster made for the cluster: the leader's and the workers'. */
  readonly instanceProfiles?: { readonly leader: string; readonly worker: string };
  readonly sshAuthorizedKeys?: readonly string[];
  /** The node types the leader's daemon scales (its /etc/toil/leader.yaml); default the leader's type. */
  readonly workerNodeTypes?: readonly WorkerNodeType[];
  /** The leader daemon's bearer token, written into the leader's user data only. */
  readonly leaderToken?: string;
  /** The engine the leader runs and its workers join (launch-cluster's --clusterType); default mesos. */
  readonly clusterType?: ClusterType;
  /**
   * The subnet of the home zone launch-cluster chose (--vpcSubnet, else the zone's default subnet).
   * The leader's daemon is not told it: it reads the leader's own subnet instead (see `subnetFor`).
   */
  readonly subnetId?: string;
  /** The VPC of `subnetId`: the cluster's group is the one of its name there. */
  readonly vpcId?: string;
  /**
   * launch-cluster's --awsEc2ExtraSecurityGroupId: groups the leader and the static workers join
   * besides the cluster's own. The leader's daemon is not told them: its workers join the leader's
   * groups (see `securityGroupsFor`), as Toil's do.
   */
  readonly extraSecurityGroupIds?: readonly string[];
}

/** Instance metadata: IMDSv2 only, and a hop limit that lets containers (Docker) reach it. */
export const METADATA_OPTIONS = {
  HttpTokens: 'required',
  HttpPutResponseHopLimit: 3,
  HttpEndpoint: 'enabled',
} as const;

const LIVE: readonly NodeState[] = ['pending', 'running'];
const STOPPED: readonly NodeState[] = ['stopping', 'stopped'];
const GONE: readonly NodeState[] = ['shutting-down', 'terminated'];

/** The Provisioner port on EC2 (and on anything that speaks its Query API). */
export class AwsProvisioner implements Provisioner {
  readonly clusterName: string;
  private readonly calls: Ec2Calls;
  private readonly settings: AwsClusterSettings;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Types DescribeSpotPriceHistory rejected: not asked for again, so said once. */
  private readonly unpricedTypes = new Set<string>();
  private network:
    Promise<{ vpcId: string; securityGroupId: string; subnets: Map<string, string> }> | undefined;
  private leader: LeaderInstance | undefined;
  private readonly pageSize: number;

  constructor(options: {
    calls: Ec2Calls;
    settings: AwsClusterSettings;
    clock: Clock;
    log: Logger;
    pageSize?: number;
  }) {
    this.calls = options.calls;
    this.pageSize = options.pageSize ?? 500;
    this.settings = options.settings;
    this.clusterName = options.settings.clusterName;
    this.clock = options.clock;
    this.log = options.log.child({ component: 'provisioner', cluster: options.settings.clusterName });
  }

  async listNodes(options: ListOptions = {}): Promise<ProvisionedNode[]> {
    const states = [
      ...LIVE,
      ...(options.includeStopped ? STOPPED : []),
      ...(options.includeTerminated ? GONE : []),
    ];
    const filters: Filter[] = [
      { Name: `tag:${TAG_CLUSTER}`, Values: [this.clusterName] },
      { Name: 'instance-state-name', Values: states },
    ];
    const nodes = (await this.describeAll(filters)).map(toNode);
    return options.role ? nodes.filter((n) => n.role === options.role) : nodes;
  }

  private async describeAll(filters: Filter[]): Promise<Instance[]> {
    const out: Instance[] = [];
    let token: string | undefined;
    do {
      const page = await this.calls.call('DescribeInstances', (c) =>
        c.send(
          new DescribeInstancesCommand({ Filters: filters, MaxResults: this.pageSize, NextToken: token }),
        ),
      );
      for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      token = page.NextToken || undefined;
    } while (token);
    return out;
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    const role = request.role ?? 'worker';
    const { offering, count } = request;
    if (!Number.isInteger(count) || count < 1)
      throw new ToilError('BAD_LAUNCH_REQUEST', `launch count must be a positive integer, got ${count}`);
    const net = await this.resolveNetwork();
    const subnetId = await this.subnetFor(offering.zone, role, net);
    const base = clusterTags({
      clusterName: this.clusterName,
      owner: this.settings.owner,
      extraTags: this.settings.extraTags,
    });
    const tags = {
      ...nodeTags(base, role),
      ...(request.staticWorker && role === 'worker' ? { [STATIC_WORKER_TAG]: 'launch-cluster' } : {}),
      ...(request.leaderBeat ? heartbeatTags(request.leaderBeat) : {}),
    };
    const userData = buildUserData({
      role,
      clusterName: this.clusterName,
      applianceImage: this.settings.applianceImage,
      ...(this.settings.nodeInit ? { nodeInit: this.settings.nodeInit } : {}),
      ...(this.settings.s3Variables ? { s3Variables: this.settings.s3Variables } : {}),
      zone: offering.zone,
      leaderPrivateIp: role === 'worker' ? await this.leaderPrivateIp() : undefined,
      preemptable: offering.market === 'spot',
      tags: base,
      sshAuthorizedKeys: this.settings.sshAuthorizedKeys,
      ...(role === 'leader'
        ? {
            instanceType: offering.instanceType,
            workerNodeTypes: this.settings.workerNodeTypes,
            ...(this.settings.leaderToken ? { leaderToken: this.settings.leaderToken } : {}),
            nodeStorageGiB: this.settings.nodeStorageGiB,
            ...(this.settings.nodeStorageOverridesGiB
              ? { nodeStorageOverridesGiB: this.settings.nodeStorageOverridesGiB }
              : {}),
            imageId: this.settings.imageId,
          }
        : {}),
      ...(this.settings.clusterType ? { clusterType: this.settings.clusterType } : {}),
    });
    const storage =
      role === 'leader'
        ? this.settings.leaderStorageGiB
        : (offering.rootVolumeGiB ?? this.settings.nodeStorageGiB);
    const profileArn = await this.profileFor(role);
    const securityGroupIds = await this.securityGroupsFor(role, net.securityGroupId);
    const out = await this.calls.call('RunInstances', (c) =>
      c.send(
        new RunInstancesCommand({
          ImageId: this.settings.imageId,
          InstanceType: offering.instanceType as never,
          MinCount: 1,
          MaxCount: count,
          ClientToken: request.clientToken,
          KeyName: this.settings.keyName,
          SecurityGroupIds: securityGroupIds,
          SubnetId: subnetId,
          Placement: { AvailabilityZone: offering.zone },
          UserData: userData,
          MetadataOptions: METADATA_OPTIONS,
          IamInstanceProfile: profileArn ? { Arn: profileArn } : undefined,
          BlockDeviceMappings: [
            {
              DeviceName: '/dev/xvda',
              Ebs: { VolumeSize: storage, VolumeType: ROOT_VOLUME_TYPE, DeleteOnTermination: true },
            },
          ],
          InstanceMarketOptions:
            offering.market === 'spot'
              ? {
                  MarketType: 'spot',
                  SpotOptions: {
                    SpotInstanceType: 'one-time',
                    InstanceInterruptionBehavior: 'terminate',
                    MaxPrice: offering.maxPrice === undefined ? undefined : decimalText(offering.maxPrice),
                  },
                }
              : undefined,
          TagSpecifications: [
            { ResourceType: 'instance', Tags: toTagList(tags) },
            { ResourceType: 'volume', Tags: toTagList(tags) },
            ...(offering.market === 'spot'
              ? [{ ResourceType: 'spot-instances-request' as const, Tags: toTagList(base) }]
              : []),
          ],
        }),
      ),
    );
    const nodes = (out.Instances ?? []).map(toNode);
    this.log.info(
      { role, offering, requested: count, launched: nodes.length, ids: nodes.map((n) => n.instanceId) },
      'instances launched',
    );
    const made = out.Instances?.[0];
    if (role === 'leader' && made?.PrivateIpAddress && made.InstanceId)
      this.leader = {
        id: made.InstanceId,
        ip: made.PrivateIpAddress,
        profileArn,
        subnetId: made.SubnetId ?? subnetId,
        zone: made.Placement?.AvailabilityZone ?? offering.zone,
        vpcId: made.VpcId ?? net.vpcId,
        securityGroupIds,
      };
    return { requested: count, nodes };
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    let remaining = [...new Set(instanceIds)];
    while (remaining.length > 0) {
      const batch = remaining.slice(0, 1000);
      try {
        await this.calls.call('TerminateInstances', (c) =>
          c.send(new TerminateInstancesCommand({ InstanceIds: batch })),
        );
        remaining = remaining.slice(batch.length);
        this.log.info({ ids: batch }, 'instances terminating');
      } catch (e) {
        if (!isProvisionerError(e, 'NOT_FOUND') || e.cloudCode !== 'InvalidInstanceID.NotFound') throw e;
        // Gone already: drop the ids EC2 names and ask again for the rest.
        const gone = new Set(idsInMessage(e.message));
        const next = remaining.filter((id) => !gone.has(id));
        if (gone.size === 0 || next.length === remaining.length) {
          // Could not tell which: ask one at a time, so only the missing ones are skipped.
          for (const id of batch) await this.terminate1(id);
          remaining = remaining.slice(batch.length);
        } else remaining = next;
      }
    }
  }

  private async terminate1(id: string): Promise<void> {
    try {
      await this.calls.call('TerminateInstances', (c) =>
        c.send(new TerminateInstancesCommand({ InstanceIds: [id] })),
      );
    } catch (e) {
      if (!isProvisionerError(e, 'NOT_FOUND')) throw e;
    }
  }

  async markLeaderLive(instanceIds: readonly string[], beat: LeaderBeat): Promise<void> {
    const Tags = toTagList(heartbeatTags(beat));
    let remaining = [...new Set(instanceIds)];
    while (remaining.length > 0) {
      // CreateTags takes up to 1000 resources and applies the same tags to each.
      const batch = remaining.slice(0, 1000);
      try {
        await this.calls.call('CreateTags', (c) => c.send(new CreateTagsCommand({ Resources: batch, Tags })));
        remaining = remaining.slice(batch.length);
      } catch (e) {
        if (!isProvisionerError(e, 'NOT_FOUND') || e.cloudCode !== 'InvalidInstanceID.NotFound') throw e;
        // An instance gone between the listing and the beat: beat the others.
        const gone = new Set(idsInMessage(e.message));
        const next = remaining.filter((id) => !gone.has(id));
        if (gone.size === 0 || next.length === remaining.length) {
          for (const id of batch) await this.markLive1(id, Tags);
          remaining = remaining.slice(batch.length);
        } else remaining = next;
      }
    }
  }

  async checkLeaderMark(beat: LeaderBeat): Promise<void> {
    const { id } = await this.leaderInstance();
    try {
      await this.calls.call('CreateTags', (c) =>
        c.send(
          new CreateTagsCommand({ Resources: [id], Tags: toTagList(heartbeatTags(beat)), DryRun: true }),
        ),
      );
    } catch (e) {
      // EC2's "yes" to a dry run is an error by this name; anything else is the answer.
      if (isProvisionerError(e) && e.cloudCode === 'DryRunOperation') return;
      throw e;
    }
    throw new ProvisionerError('REQUEST_REJECTED', 'EC2 CreateTags with DryRun changed something');
  }

  private async markLive1(id: string, Tags: { Key: string; Value: string }[]): Promise<void> {
    try {
      await this.calls.call('CreateTags', (c) => c.send(new CreateTagsCommand({ Resources: [id], Tags })));
    } catch (e) {
      if (!isProvisionerError(e, 'NOT_FOUND')) throw e;
    }
  }

  async interruptionNotices(): Promise<InterruptionNotice[]> {
    const out: InterruptionNotice[] = [];
    let token: string | undefined;
    do {
      const page = await this.calls.call('DescribeSpotInstanceRequests', (c) =>
        c.send(
          new DescribeSpotInstanceRequestsCommand({
            Filters: [
              { Name: `tag:${TAG_CLUSTER}`, Values: [this.clusterName] },
              { Name: 'status-code', Values: ['marked-for-termination'] },
            ],
            MaxResults: 1000,
            NextToken: token,
          }),
        ),
      );
      for (const r of page.SpotInstanceRequests ?? []) {
        if (!r.InstanceId) continue;
        const noticedAt = r.Status?.UpdateTime?.getTime() ?? this.clock.now();
        // EC2 reclaims two minutes after the notice.
        out.push({ instanceId: r.InstanceId, noticedAt, terminateAt: noticedAt + 120_000 });
      }
      token = page.NextToken || undefined;
    } while (token);
    return out;
  }

  async spotPrices(
    instanceTypes: readonly string[],
    zones: readonly string[] = [this.settings.zone],
  ): Promise<SpotPrice[]> {
    let types = instanceTypes.filter((t) => !this.unpricedTypes.has(t));
    for (;;) {
      if (types.length === 0) return [];
      try {
        return await this.spotPricesOf(types, zones);
      } catch (e) {
        // One type EC2 rejects (a name it does not know) fails the whole request: the others are
        // read without it, and the leader says once that it has no price (it plans on the bid).
        const rejected =
          isProvisionerError(e) && e.cloudCode === 'InvalidParameterValue'
            ? rejectedType(e.message, types)
            : undefined;
        if (rejected === undefined) throw e;
        this.unpricedTypes.add(rejected);
        this.log.warn(
          { instanceType: rejected, reason: e instanceof Error ? e.message : String(e) },
          `EC2 gives no spot price for ${rejected} (it rejects the type in DescribeSpotPriceHistory): it is planned on its bid; the other types' prices are read without it`,
        );
        types = types.filter((t) => t !== rejected);
      }
    }
  }

  private async spotPricesOf(
    instanceTypes: readonly string[],
    zones: readonly string[],
  ): Promise<SpotPrice[]> {
    const latest = new Map<string, SpotPrice>();
    for (const zone of zones) {
      let token: string | undefined;
      do {
        const page = await this.calls.call('DescribeSpotPriceHistory', (c) =>
          c.send(
            new DescribeSpotPriceHistoryCommand({
              InstanceTypes: [...instanceTypes] as never[],
              ProductDescriptions: ['Linux/UNIX'],
              AvailabilityZone: zone,
              StartTime: new Date(this.clock.now()),
              NextToken: token,
            }),
          ),
        );
        for (const p of page.SpotPriceHistory ?? []) {
          if (!p.InstanceType || !p.AvailabilityZone || p.SpotPrice === undefined) continue;
          if (p.ProductDescription && !p.ProductDescription.startsWith('Linux/UNIX')) continue;
          if (p.AvailabilityZone !== zone) continue;
          const at = p.Timestamp?.getTime() ?? 0;
          const key = `${p.InstanceType}/${p.AvailabilityZone}`;
          const prev = latest.get(key);
          if (!prev || prev.at < at)
            latest.set(key, {
              instanceType: p.InstanceType,
              zone: p.AvailabilityZone,
              price: Number(p.SpotPrice),
              at,
            });
        }
        token = page.NextToken || undefined;
      } while (token);
    }
    return [...latest.values()];
  }

  async instanceTypes(names?: readonly string[]): Promise<InstanceTypeInfo[]> {
    if (names && names.length > 0) {
      try {
        const out = await this.calls.call('DescribeInstanceTypes', (c) =>
          c.send(new DescribeInstanceTypesCommand({ InstanceTypes: [...names] as never[] })),
        );
        return (out.InstanceTypes ?? []).map(toTypeInfo);
      } catch (e) {
        if (!isProvisionerError(e) || e.cloudCode !== 'InvalidInstanceType') throw e;
        // Find which name is unknown, and its neighbours, without listing every type EC2 sells.
        for (const name of names) {
          const near = await this.typesNear(name);
          if (!near.includes(name)) throw new UnknownInstanceTypeError(name, suggestNames(name, near));
        }
        throw e;
      }
    }
    return this.listTypes([]);
  }

  private async listTypes(filters: Filter[]): Promise<InstanceTypeInfo[]> {
    const out: InstanceTypeInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.calls.call('DescribeInstanceTypes', (c) =>
        c.send(
          new DescribeInstanceTypesCommand({
            MaxResults: 100,
            NextToken: token,
            Filters: filters.length > 0 ? filters : undefined,
          }),
        ),
      );
      out.push(...(page.InstanceTypes ?? []).map(toTypeInfo));
      token = page.NextToken || undefined;
    } while (token);
    return out;
  }

  /** Type names sharing the family or the size of `name` (where a typo's intended name lives). */
  private async typesNear(name: string): Promise<string[]> {
    const dot = name.indexOf('.');
    const patterns =
      dot > 0
        ? [
            `${name.slice(0, dot)}.*`,
            `*.${name.slice(dot + 1)}`,
            `${name.slice(0, 1)}*.${name.slice(dot + 1, dot + 3)}*`,
          ]
        : [`${name.slice(0, 2)}*`];
    const types = await this.listTypes([{ Name: 'instance-type', Values: patterns }]);
    return types.map((t) => t.name);
  }

  /** The leader's private address (for worker user data); CLUSTER_NOT_FOUND without a leader. */
  async leaderPrivateIp(): Promise<string> {
    return (await this.leaderInstance()).ip;
  }

  /**
   * The instance profile a node of `role` is launched with: the one the settings give, else, for a
   * worker launched by the leader's daemon, the one the leader's own profile implies (the
   * cluster's worker profile, or the user's single profile; see `workerProfileFor`).
   */
  private async profileFor(role: 'leader' | 'worker'): Promise<string | undefined> {
    const s = this.settings;
    const given = s.instanceProfiles?.[role] ?? s.instanceProfileArn;
    if (given || role === 'leader') return given;
    return workerProfileFor((await this.leaderInstance()).profileArn, this.clusterName);
  }

  /**
   * The groups a node joins: the cluster's own, and the extra ones launch-cluster was given; a
   * worker launched by the leader's daemon, which was not given them, joins every group the
   * leader is in (Toil's workers take the leader's groups the same way).
   */
  private async securityGroupsFor(role: 'leader' | 'worker', clusterGroupId: string): Promise<string[]> {
    const extra =
      this.settings.extraSecurityGroupIds ??
      (role === 'worker' ? (await this.leaderInstance()).securityGroupIds : []);
    return [...new Set([clusterGroupId, ...extra])];
  }

  private async leaderInstance(): Promise<LeaderInstance> {
    if (this.leader) return this.leader;
    const leaders = (
      await this.describeAll([
        { Name: `tag:${TAG_CLUSTER}`, Values: [this.clusterName] },
        { Name: `tag:${TAG_NODE_TYPE}`, Values: ['leader'] },
        { Name: 'instance-state-name', Values: [...LIVE, ...STOPPED] },
      ])
    ).sort((a, b) => (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0));
    const first = leaders[0];
    const ip = first?.PrivateIpAddress;
    if (!ip || !first.InstanceId)
      throw new ProvisionerError(
        'CLUSTER_NOT_FOUND',
        `cluster '${this.clusterName}' has no leader instance`,
        {
          details: { clusterName: this.clusterName },
        },
      );
    this.leader = {
      id: first.InstanceId,
      ip,
      profileArn: first.IamInstanceProfile?.Arn,
      subnetId: first.SubnetId,
      zone: first.Placement?.AvailabilityZone,
      vpcId: first.VpcId,
      securityGroupIds: (first.SecurityGroups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
    };
    return this.leader;
  }

  private resolveNetwork(): Promise<{
    vpcId: string;
    securityGroupId: string;
    subnets: Map<string, string>;
  }> {
    this.network ??= (async () => {
      const groups = await this.calls.call('DescribeSecurityGroups', (c) =>
        c.send(
          new DescribeSecurityGroupsCommand({
            Filters: [{ Name: 'group-name', Values: [this.clusterName] }],
          }),
        ),
      );
      const named = (groups.SecurityGroups ?? []).filter((x) => x.GroupId && x.VpcId);
      // A group of the cluster's name may be left in another VPC (a launch that failed before
      // --vpcSubnet was given): the cluster's own is the one in its VPC.
      const vpcId = named.length > 1 ? await this.clusterVpc() : undefined;
      const g = named.find((x) => x.VpcId === vpcId) ?? named[0];
      if (!g?.GroupId || !g.VpcId)
        throw new ProvisionerError(
          'CLUSTER_NOT_FOUND',
          `cluster '${this.clusterName}' has no security group of that name`,
          {
            details: { clusterName: this.clusterName },
          },
        );
      return { vpcId: g.VpcId, securityGroupId: g.GroupId, subnets: new Map<string, string>() };
    })();
    this.network.catch(() => (this.network = undefined));
    return this.network;
  }

  /** The cluster's VPC: the one launch-cluster chose, else the leader's; undefined before a leader exists. */
  private async clusterVpc(): Promise<string | undefined> {
    if (this.settings.vpcId) return this.settings.vpcId;
    try {
      return (await this.leaderInstance()).vpcId;
    } catch (e) {
      if (isProvisionerError(e, 'CLUSTER_NOT_FOUND')) return undefined;
      throw e;
    }
  }

  /**
   * The subnet a node in `zone` is launched into. In the cluster's home zone, the one
   * launch-cluster chose, or for a worker the leader's own subnet (as Toil does: workers join the
   * leader's subnet, which --vpcSubnet may have named). In any other zone (the scaler may use
   * several), the zone's default subnet of the cluster's VPC, else its first subnet there.
   */
  private async subnetFor(
    zone: string,
    role: 'leader' | 'worker',
    net: { vpcId: string; subnets: Map<string, string> },
  ): Promise<string> {
    const cached = net.subnets.get(zone);
    if (cached) return cached;
    if (zone === this.settings.zone && this.settings.subnetId) {
      net.subnets.set(zone, this.settings.subnetId);
      return this.settings.subnetId;
    }
    if (role === 'worker') {
      const leader = await this.leaderInstance();
      if (leader.zone === zone && leader.subnetId) {
        net.subnets.set(zone, leader.subnetId);
        return leader.subnetId;
      }
    }
    const out = await this.calls.call('DescribeSubnets', (c) =>
      c.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [net.vpcId] },
            { Name: 'availability-zone', Values: [zone] },
          ],
        }),
      ),
    );
    const subnets = out.Subnets ?? [];
    const id = (subnets.find((s) => s.DefaultForAz) ?? subnets[0])?.SubnetId;
    if (!id)
      throw new ProvisionerError('NOT_FOUND', `no subnet in zone ${zone} of VPC ${net.vpcId}`, {
        details: { zone },
      });
    net.subnets.set(zone, id);
    return id;
  }
}

/** What the provisioner needs to know of the cluster's leader instance. */
interface LeaderInstance {
  readonly id: string;
  readonly ip: string;
  readonly profileArn: string | undefined;
  readonly subnetId: string | undefined;
  readonly zone: string | undefined;
  readonly vpcId: string | undefined;
  readonly securityGroupIds: readonly string[];
}

function toTypeInfo(t: {
  InstanceType?: string;
  VCpuInfo?: { DefaultVCpus?: number };
  MemoryInfo?: { SizeInMiB?: number };
  ProcessorInfo?: { SupportedArchitectures?: string[] };
  SupportedUsageClasses?: string[];
}): InstanceTypeInfo {
  return {
    name: t.InstanceType ?? '',
    vcpus: t.VCpuInfo?.DefaultVCpus ?? 0,
    memoryMiB: t.MemoryInfo?.SizeInMiB ?? 0,
    architectures: t.ProcessorInfo?.SupportedArchitectures ?? [],
    spot: (t.SupportedUsageClasses ?? []).includes('spot'),
  };
}

/** The one asked-for type an InvalidParameterValue message quotes ("Invalid value 'X' for InstanceType."). */
function rejectedType(message: string, asked: readonly string[]): string | undefined {
  const named = asked.filter((t) => message.includes(`'${t}'`) || message.includes(`(${t})`));
  return named.length === 1 ? named[0] : undefined;
}
