import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { NodeCommandLauncher, NodeProcess, NodeProcessLauncher } from './agents.js';
import {
  ACCOUNT_ID,
  INSTANCE_TYPES_BY_NAME,
  LOCAL_IMAGE,
  zoneId,
  zonesOf,
  type InstanceTypeSpec,
} from './catalogue.js';
import type { FaultInjector, Market } from './faults.js';
import { checkImageId } from './imageId.js';
import { deferredProcess, type InstanceImdsListeners } from './instanceImdsListeners.js';
import { parseNodeToilCommands, parseNodeUserData } from './nodeUserData.js';
import { checkRootVolume } from './rootVolume.js';
import { anyMatch, type Filter } from './query.js';
import type { SpotMarket } from './spotMarket.js';

/** An EC2 API error: `code` is what the SDK exposes as `name`; `status` ≥ 400. */
export class Ec2ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export type InstanceStateName =
  'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface MetadataOptions {
  httpTokens: 'optional' | 'required';
  hopLimit: number;
  httpEndpoint: 'enabled' | 'disabled';
}

export interface InstanceRecord {
  readonly id: string;
  readonly reservationId: string;
  readonly imageId: string;
  readonly type: InstanceTypeSpec;
  readonly zone: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly privateIp: string;
  readonly publicIp: string | undefined;
  readonly keyName: string | undefined;
  readonly groupIds: readonly string[];
  readonly tags: Map<string, string>;
  readonly launchTime: number;
  readonly market: Market;
  readonly spotRequestId: string | undefined;
  readonly userData: string | undefined;
  readonly metadata: MetadataOptions;
  readonly rootVolumeGiB: number;
  readonly amiLaunchIndex: number;
  readonly clientToken: string | undefined;
  readonly iamInstanceProfileArn: string | undefined;
  state: InstanceStateName;
  stateSince: number;
  stateReason: { code: string; message: string } | undefined;
  /** A spot interruption: notice shown from `noticeAt`, instance reclaimed at `terminateAt`. */
  interruption: { noticeAt: number; terminateAt: number } | undefined;
  /** When EC2 recommended rebalancing it (metadata `events/recommendations/rebalance`). */
  rebalanceAt?: number;
  /** The engine's process (a Mesos agent, a slurmd). */
  process: NodeProcess | undefined;
  /** The processes of its other units (`startNodeCommands`). */
  unitProcesses: NodeProcess[];
}

export interface SecurityGroupRule {
  readonly id: string;
  readonly protocol: string;
  readonly fromPort: number | undefined;
  readonly toPort: number | undefined;
  readonly cidr: string | undefined;
  readonly cidrV6: string | undefined;
  readonly sourceGroupId: string | undefined;
  readonly description: string | undefined;
}

export interface SecurityGroupRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly vpcId: string;
  readonly tags: Map<string, string>;
  readonly ingress: SecurityGroupRule[];
}

export interface KeyPairRecord {
  readonly id: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly type: 'rsa' | 'ed25519';
  readonly tags: Map<string, string>;
  readonly createTime: number;
}

export interface SpotRequestRecord {
  readonly id: string;
  readonly instanceType: string;
  readonly zone: string;
  readonly maxPrice: number;
  readonly createTime: number;
  readonly imageId: string;
  readonly tags: Map<string, string>;
  instanceId: string | undefined;
  state: 'open' | 'active' | 'closed' | 'cancelled' | 'failed';
  statusCode: string;
  updateTime: number;
}

export interface VpcRecord {
  readonly id: string;
  readonly cidr: string;
  /** The region's default VPC (the one the local cloud starts with); CreateVpc makes others. */
  readonly isDefault: boolean;
  readonly tags: Map<string, string>;
}

export interface SubnetRecord {
  readonly id: string;
  readonly vpcId: string;
  readonly zone: string;
  readonly zoneId: string;
  readonly cidr: string;
  /** The default VPC's subnets are; one made by CreateSubnet is not (as in EC2). */
  readonly defaultForAz: boolean;
  /** Whether an instance launched here gets a public address (ModifySubnetAttribute turns it on). */
  mapPublicIpOnLaunch: boolean;
  readonly tags: Map<string, string>;
  /** The next host number handed out in this subnet (from its CIDR's first address). */
  nextHost: number;
}

export interface RunRequest {
  imageId: string;
  instanceType: string;
  minCount: number;
  maxCount: number;
  zone: string | undefined;
  subnetId: string | undefined;
  securityGroupIds: string[];
  securityGroupNames: string[];
  keyName: string | undefined;
  userData: string | undefined;
  clientToken: string | undefined;
  market: Market;
  maxPrice: number | undefined;
  tags: Map<string, Map<string, string>>;
  metadata: Partial<MetadataOptions>;
  rootVolumeGiB: number | undefined;
  rootVolumeType: string | undefined;
  iamInstanceProfileArn: string | undefined;
  /** Canonical form of every parameter, to detect a reused ClientToken with different input. */
  fingerprint: string;
}

export interface Reservation {
  readonly id: string;
  readonly instances: InstanceRecord[];
}

export interface Ec2CloudOptions {
  readonly region: string;
  /** The local cloud's home region: DescribeRegions lists it whatever name its operator chose. */
  readonly homeRegion?: string;
  readonly zoneLetters?: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly faults: FaultInjector;
  /** pending → running after this long. */
  readonly bootDelayMs: number;
  /** shutting-down → terminated after this long. */
  readonly shutdownDelayMs: number;
  /** How far ahead of a spot interruption the notice appears (AWS: two minutes). */
  readonly interruptionNoticeMs: number;
  /** Public address every instance reports (the local cloud's nodes all live on this machine). */
  readonly publicIp: string | undefined;
  /** HOST:PORT of the local Mesos master; without it, instances start no processes. */
  readonly mesosMaster: string | undefined;
  readonly launcher: NodeProcessLauncher | undefined;
  /** Runs the `toil` commands of a running instance's other units (the rebalance watch); none without. */
  readonly nodeCommands?: NodeCommandLauncher;
  /** Each instance's own metadata listener (its processes' AWS_EC2_METADATA_SERVICE_ENDPOINT). */
  readonly instanceImds?: InstanceImdsListeners;
  /** The moving spot price of every type × zone. */
  readonly spotMarket: SpotMarket;
}

/** An IPv4 CIDR block as its first address (a 32-bit number) and prefix length; undefined if malformed. */
function parseCidr(text: string): { base: number; bits: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return { base: address - (address % size), bits };
}

function ipv4Text(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

const cidrText = (b: { base: number; bits: number }): string => `${ipv4Text(b.base)}/${b.bits}`;
const cidrEnd = (b: { base: number; bits: number }): number => b.base + 2 ** (32 - b.bits);
const cidrWithin = (inner: { base: number; bits: number }, outer: { base: number; bits: number }): boolean =>
  inner.base >= outer.base && cidrEnd(inner) <= cidrEnd(outer);
const cidrsOverlap = (a: { base: number; bits: number }, b: { base: number; bits: number }): boolean =>
  a.base < cidrEnd(b) && b.base < cidrEnd(a);

function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
}

const INSTANCE_FILTERS: ReadonlySet<string> = new Set([
  'tag-key',
  'tag-value',
  'instance-state-name',
  'instance-state-code',
  'instance-id',
  'instance-type',
  'instance.group-name',
  'group-name',
  'instance.group-id',
  'group-id',
  'availability-zone',
  'vpc-id',
  'subnet-id',
  'private-ip-address',
  'ip-address',
  'instance-lifecycle',
  'spot-instance-request-id',
  'key-name',
  'image-id',
  'reservation-id',
  'client-token',
  'metadata-options.http-tokens',
]);

const LIVE_STATES: ReadonlySet<InstanceStateName> = new Set(['pending', 'running', 'stopping', 'stopped']);

/**
 * The local region's state and its rules: what EC2 would accept, refuse, and do over time. Times
 * come from the injected Clock; `settle()` applies every transition that is due.
 */
export class Ec2Cloud {
  readonly region: string;
  readonly zones: readonly string[];
  /** The default VPC's id. */
  readonly vpcId = `vpc-${hex(17)}`;
  readonly vpcs: VpcRecord[] = [];
  readonly subnets: SubnetRecord[] = [];
  readonly instances = new Map<string, InstanceRecord>();
  /** Stops begun by a termination and not yet done: shutting down waits for them too. */
  private readonly stopping = new Set<Promise<void>>();
  readonly reservations: Reservation[] = [];
  readonly securityGroups = new Map<string, SecurityGroupRecord>();
  readonly keyPairs = new Map<string, KeyPairRecord>();
  readonly spotRequests = new Map<string, SpotRequestRecord>();
  private readonly clientTokens = new Map<string, { fingerprint: string; reservation: Reservation }>();
  private readonly options: Ec2CloudOptions;
  /** Ec2CloudOptions.homeRegion. */
  readonly homeRegion: string | undefined;
  private readonly log: Logger;

  constructor(options: Ec2CloudOptions) {
    this.options = options;
    this.log = options.log;
    this.region = options.region;
    this.homeRegion = options.homeRegion;
    this.zones = zonesOf(options.region, options.zoneLetters ?? 'abc');
    this.vpcs.push({ id: this.vpcId, cidr: '10.0.0.0/16', isDefault: true, tags: new Map() });
    this.zones.forEach((zone, i) => {
      this.subnets.push({
        id: `subnet-${hex(17)}`,
        vpcId: this.vpcId,
        zone,
        zoneId: zoneId(options.region, i),
        cidr: `10.0.${i * 16}.0/20`,
        defaultForAz: true,
        mapPublicIpOnLaunch: true,
        tags: new Map(),
        nextHost: 10,
      });
    });
    this.createSecurityGroup('default', 'default VPC security group', this.vpcId, new Map());
  }

  get faults(): FaultInjector {
    return this.options.faults;
  }

  now(): number {
    return this.options.clock.now();
  }

  // ---------------------------------------------------------------- instances

  runInstances(req: RunRequest): Reservation {
    if (req.clientToken !== undefined) {
      const prior = this.clientTokens.get(req.clientToken);
      if (prior) {
        if (prior.fingerprint !== req.fingerprint)
          throw new Ec2ApiError(
            'IdempotentParameterMismatch',
            `The client token '${req.clientToken}' was used with different parameters.`,
          );
        return prior.reservation;
      }
    }
    const type = INSTANCE_TYPES_BY_NAME.get(req.instanceType);
    if (!type)
      throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${req.instanceType}' for InstanceType.`);
    if (
      !Number.isInteger(req.minCount) ||
      !Number.isInteger(req.maxCount) ||
      req.minCount < 1 ||
      req.maxCount < req.minCount
    )
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `MinCount (${req.minCount}) must be at least 1 and at most MaxCount (${req.maxCount}).`,
      );
    checkImageId(req.imageId);
    checkRootVolume(req.rootVolumeGiB, req.rootVolumeType, LOCAL_IMAGE.rootSnapshot);
    const subnet = this.chooseSubnet(req);
    if (req.keyName !== undefined && !this.keyPairs.has(req.keyName))
      throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${req.keyName}' does not exist`);
    const groupIds = this.resolveGroups(req, subnet.vpcId, subnet.id);
    if (req.userData !== undefined && Buffer.from(req.userData, 'base64').length > 16_384)
      throw new Ec2ApiError('InvalidParameterValue', 'User data is limited to 16384 bytes');
    const hopLimit = req.metadata.hopLimit ?? 1;
    if (!Number.isInteger(hopLimit) || hopLimit < 1 || hopLimit > 64)
      throw new Ec2ApiError('InvalidParameterValue', 'HttpPutResponseHopLimit must be between 1 and 64.');
    const currentSpot = this.options.spotMarket.priceAt(type, subnet.zone, this.now());
    if (req.market === 'spot' && req.maxPrice !== undefined && req.maxPrice < currentSpot)
      throw new Ec2ApiError(
        'SpotMaxPriceTooLow',
        `Your Spot request price of ${req.maxPrice} is lower than the minimum required Spot request fulfillment price of ${currentSpot}.`,
      );
    const allowed = this.limitAllows(type, req);
    const count = this.faults.available(type.name, subnet.zone, req.market, allowed);
    if (count < req.minCount) {
      this.faults.counts.capacityRefusals++;
      throw new Ec2ApiError(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${type.name} capacity in the Availability Zone you requested (${subnet.zone}). Our system will be working on provisioning additional capacity.`,
        500,
      );
    }
    this.faults.consume(type.name, subnet.zone, req.market, count);

    const now = this.now();
    const reservation: Reservation = { id: `r-${hex(17)}`, instances: [] };
    for (let i = 0; i < count; i++) {
      const id = `i-${hex(17)}`;
      const tags = new Map(req.tags.get('instance') ?? []);
      let spotRequestId: string | undefined;
      if (req.market === 'spot') {
        spotRequestId = `sir-${hex(8)}`;
        this.spotRequests.set(spotRequestId, {
          id: spotRequestId,
          instanceType: type.name,
          zone: subnet.zone,
          maxPrice: req.maxPrice ?? type.onDemandPrice,
          createTime: now,
          imageId: req.imageId,
          tags: new Map(req.tags.get('spot-instances-request') ?? []),
          instanceId: id,
          state: 'active',
          statusCode: 'fulfilled',
          updateTime: now,
        });
      }
      const inst: InstanceRecord = {
        id,
        reservationId: reservation.id,
        imageId: req.imageId,
        type,
        zone: subnet.zone,
        subnetId: subnet.id,
        vpcId: subnet.vpcId,
        privateIp: this.allocateIp(subnet),
        publicIp: subnet.mapPublicIpOnLaunch ? this.options.publicIp : undefined,
        keyName: req.keyName,
        groupIds,
        tags,
        launchTime: now,
        market: req.market,
        spotRequestId,
        userData: req.userData,
        metadata: {
          httpTokens: req.metadata.httpTokens ?? 'optional',
          hopLimit,
          httpEndpoint: req.metadata.httpEndpoint ?? 'enabled',
        },
        rootVolumeGiB: req.rootVolumeGiB ?? LOCAL_IMAGE.rootSnapshot.sizeGiB,
        amiLaunchIndex: i,
        clientToken: req.clientToken,
        iamInstanceProfileArn: req.iamInstanceProfileArn,
        state: 'pending',
        stateSince: now,
        stateReason: undefined,
        interruption: undefined,
        process: undefined,
        unitProcesses: [],
      };
      this.instances.set(id, inst);
      reservation.instances.push(inst);
      if (this.options.launcher || this.options.nodeCommands) this.options.instanceImds?.open(id);
    }
    this.reservations.push(reservation);
    if (req.clientToken !== undefined)
      this.clientTokens.set(req.clientToken, { fingerprint: req.fingerprint, reservation });
    this.log.info(
      {
        reservationId: reservation.id,
        type: type.name,
        zone: subnet.zone,
        market: req.market,
        count,
        asked: req.maxCount,
      },
      'instances launched',
    );
    return reservation;
  }

  /** How many of the request the account's limits allow (at least MinCount, or an error). */
  private limitAllows(type: InstanceTypeSpec, req: RunRequest): number {
    const live = [...this.instances.values()].filter((i) => LIVE_STATES.has(i.state));
    if (req.market === 'spot') {
      const allowed = this.faults.spotInstanceLimit - live.filter((i) => i.market === 'spot').length;
      if (allowed < req.minCount)
        throw new Ec2ApiError('MaxSpotInstanceCountExceeded', 'Max spot instance count exceeded');
      return Math.min(req.maxCount, allowed);
    }
    const used = live.filter((i) => i.market === 'on-demand').reduce((s, i) => s + i.type.vcpus, 0);
    const allowed = Math.floor((this.faults.onDemandVcpuLimit - used) / type.vcpus);
    if (allowed < req.minCount)
      throw new Ec2ApiError(
        'VcpuLimitExceeded',
        `You have requested more vCPU capacity than your current vCPU limit of ${this.faults.onDemandVcpuLimit} allows for the instance bucket that the specified instance type belongs to.`,
      );
    return Math.min(req.maxCount, allowed);
  }

  private chooseSubnet(req: RunRequest): SubnetRecord {
    if (req.subnetId !== undefined) {
      const s = this.subnets.find((x) => x.id === req.subnetId);
      if (!s)
        throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${req.subnetId}' does not exist`);
      if (req.zone !== undefined && req.zone !== s.zone)
        throw new Ec2ApiError(
          'InvalidParameterValue',
          `Value (${req.zone}) for parameter availabilityZone is invalid. Subnet '${s.id}' is in Availability Zone ${s.zone}`,
        );
      return s;
    }
    const zone = req.zone ?? this.zones[0]!;
    const s = this.subnets.find((x) => x.zone === zone && x.defaultForAz);
    if (!s) throw new Ec2ApiError('InvalidParameterValue', `Invalid availability zone: [${zone}]`);
    return s;
  }

  private resolveGroups(req: RunRequest, vpcId: string, subnetId: string): string[] {
    const ids: string[] = [];
    for (const id of req.securityGroupIds) {
      const g = this.securityGroups.get(id);
      if (!g) throw new Ec2ApiError('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
      if (g.vpcId !== vpcId)
        throw new Ec2ApiError(
          'InvalidParameter',
          `Security group ${id} and subnet ${subnetId} belong to different networks.`,
        );
      ids.push(id);
    }
    for (const name of req.securityGroupNames) {
      const g = [...this.securityGroups.values()].find((x) => x.name === name && x.vpcId === vpcId);
      if (!g)
        throw new Ec2ApiError(
          'InvalidGroup.NotFound',
          `The security group '${name}' does not exist in VPC '${vpcId}'`,
        );
      ids.push(g.id);
    }
    if (ids.length === 0) {
      const def = [...this.securityGroups.values()].find((x) => x.name === 'default' && x.vpcId === vpcId);
      if (def) ids.push(def.id);
    }
    return ids;
  }

  private allocateIp(subnet: SubnetRecord): string {
    return ipv4Text(parseCidr(subnet.cidr)!.base + subnet.nextHost++);
  }

  // ---------------------------------------------------------------- VPCs and subnets

  /** CreateVpc: a VPC of its own CIDR (/16 to /28, as EC2 allows), with its own default group. */
  createVpc(cidr: string, tags: Map<string, string>): VpcRecord {
    const block = parseCidr(cidr);
    if (!block)
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Value (${cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
      );
    if (block.bits < 16 || block.bits > 28)
      throw new Ec2ApiError('InvalidVpc.Range', `The CIDR '${cidr}' is invalid.`);
    const vpc: VpcRecord = { id: `vpc-${hex(17)}`, cidr: cidrText(block), isDefault: false, tags };
    this.vpcs.push(vpc);
    this.createSecurityGroup('default', 'default VPC security group', vpc.id, new Map());
    return vpc;
  }

  /**
   * CreateSubnet: a subnet of `vpcId` inside its CIDR, overlapping no other subnet, in `zone` (the
   * first zone when none is named). Not the default for its zone, and no public address on launch,
   * as EC2 makes it.
   */
  createSubnet(o: {
    vpcId: string | undefined;
    cidr: string | undefined;
    zone: string | undefined;
    tags: Map<string, string>;
  }): SubnetRecord {
    if (!o.vpcId) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter vpcId');
    if (!o.cidr)
      throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter cidrBlock');
    const vpc = this.vpcs.find((v) => v.id === o.vpcId);
    if (!vpc) throw new Ec2ApiError('InvalidVpcID.NotFound', `The vpc ID '${o.vpcId}' does not exist`);
    const zone = o.zone ?? this.zones[0]!;
    const zoneIndex = this.zones.indexOf(zone);
    if (zoneIndex < 0)
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Value (${zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${this.zones.join(', ')}.`,
      );
    const block = parseCidr(o.cidr);
    if (!block)
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Value (${o.cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
      );
    if (block.bits < 16 || block.bits > 28 || !cidrWithin(block, parseCidr(vpc.cidr)!))
      throw new Ec2ApiError('InvalidSubnet.Range', `The CIDR '${o.cidr}' is invalid.`);
    if (this.subnets.some((x) => x.vpcId === vpc.id && cidrsOverlap(block, parseCidr(x.cidr)!)))
      throw new Ec2ApiError('InvalidSubnet.Conflict', `The CIDR '${o.cidr}' conflicts with another subnet`);
    const subnet: SubnetRecord = {
      id: `subnet-${hex(17)}`,
      vpcId: vpc.id,
      zone,
      zoneId: zoneId(this.region, zoneIndex),
      cidr: cidrText(block),
      defaultForAz: false,
      mapPublicIpOnLaunch: false,
      tags: o.tags,
      // EC2 keeps the first four addresses of a subnet.
      nextHost: 4,
    };
    this.subnets.push(subnet);
    return subnet;
  }

  /** Instances by id; throws InvalidInstanceID.NotFound naming every unknown one, as EC2 does. */
  getInstances(ids: readonly string[]): InstanceRecord[] {
    for (const id of ids)
      if (!/^i-[0-9a-f]{8,17}$/.test(id))
        throw new Ec2ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    const missing = ids.filter((id) => !this.instances.has(id));
    if (missing.length === 1)
      throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
    if (missing.length > 1)
      throw new Ec2ApiError(
        'InvalidInstanceID.NotFound',
        `The instance IDs '${missing.join(', ')}' do not exist`,
      );
    return ids.map((id) => this.instances.get(id)!);
  }

  terminateInstances(ids: readonly string[]): { inst: InstanceRecord; previous: InstanceStateName }[] {
    const found = this.getInstances(ids);
    return found.map((inst) => {
      const previous = inst.state;
      if (inst.state !== 'terminated' && inst.state !== 'shutting-down') {
        this.setState(inst, 'shutting-down', {
          code: 'Client.UserInitiatedShutdown',
          message: 'Client.UserInitiatedShutdown: User initiated shutdown',
        });
        this.closeSpotRequest(inst, 'instance-terminated-by-user');
      }
      return { inst, previous };
    });
  }

  /** A test and CLI hook: the instance stops, as if someone stopped it in the console. */
  stopInstance(id: string): void {
    const [inst] = this.getInstances([id]);
    if (inst && (inst.state === 'running' || inst.state === 'pending'))
      this.setState(inst, 'stopped', undefined);
  }

  /**
   * Announces a spot interruption: the metadata notice appears now and the instance is reclaimed
   * `noticeMs` later (AWS gives two minutes).
   */
  interruptSpot(id: string, noticeMs = this.options.interruptionNoticeMs): void {
    const [inst] = this.getInstances([id]);
    if (!inst) return;
    if (inst.market !== 'spot')
      throw new Ec2ApiError('InvalidParameterValue', `${id} is not a spot instance`);
    if (inst.state === 'terminated' || inst.state === 'shutting-down') return;
    const now = this.now();
    inst.interruption = { noticeAt: now, terminateAt: now + noticeMs };
    this.faults.counts.interruptions++;
    this.log.info(
      { instanceId: id, terminateAt: new Date(now + noticeMs).toISOString() },
      'spot interruption announced',
    );
    const req = inst.spotRequestId ? this.spotRequests.get(inst.spotRequestId) : undefined;
    if (req) {
      req.statusCode = 'marked-for-termination';
      req.updateTime = now;
    }
  }

  /**
   * As EC2 does for a spot instance at elevated risk of interruption: from now on its metadata
   * shows `events/recommendations/rebalance`; nothing else changes (no notice, no reclaim).
   */
  recommendRebalance(id: string): void {
    const [inst] = this.getInstances([id]);
    if (!inst) return;
    if (inst.market !== 'spot')
      throw new Ec2ApiError('InvalidParameterValue', `${id} is not a spot instance`);
    inst.rebalanceAt ??= this.now();
    this.log.info({ instanceId: id }, 'rebalance recommended');
  }

  /** Applies every state change whose time has come (boots, shutdowns, spot reclaims). */
  settle(): void {
    const now = this.now();
    for (const inst of this.instances.values()) {
      if (inst.state === 'pending' && now >= inst.stateSince + this.options.bootDelayMs) {
        this.setState(inst, 'running', undefined);
        if (inst.market === 'spot' && !inst.interruption) {
          const delay = this.faults.drawInterruptionDelay();
          if (delay !== undefined) {
            const terminateAt = now + delay + this.options.interruptionNoticeMs;
            inst.interruption = { noticeAt: terminateAt - this.options.interruptionNoticeMs, terminateAt };
          }
        }
      }
      if (inst.state === 'running' && !inst.interruption) this.reclaimIfOutbid(inst, now);
      if (inst.interruption && inst.state === 'running') {
        if (now >= inst.interruption.noticeAt && !inst.stateReason) {
          inst.stateReason = { code: 'Server.SpotInstanceTermination', message: 'pending' };
        }
        if (now >= inst.interruption.terminateAt) {
          this.setState(inst, 'shutting-down', {
            code: 'Server.SpotInstanceTermination',
            message: 'Server.SpotInstanceTermination: Spot instance termination',
          });
          this.closeSpotRequest(inst, 'instance-terminated-no-capacity');
        }
      }
      if (inst.state === 'shutting-down' && now >= inst.stateSince + this.options.shutdownDelayMs)
        this.setState(inst, 'terminated', inst.stateReason);
    }
  }

  /** As EC2 does: a spot instance whose max price the market passed gets the notice, then goes. */
  private reclaimIfOutbid(inst: InstanceRecord, now: number): void {
    const req = inst.spotRequestId ? this.spotRequests.get(inst.spotRequestId) : undefined;
    if (inst.market !== 'spot' || !req) return;
    const price = this.options.spotMarket.priceAt(inst.type, inst.zone, now);
    if (price <= req.maxPrice) return;
    this.log.info(
      { instanceId: inst.id, price, maxPrice: req.maxPrice },
      'the spot price rose above the max price',
    );
    this.interruptSpot(inst.id);
  }

  private closeSpotRequest(inst: InstanceRecord, statusCode: string): void {
    const req = inst.spotRequestId ? this.spotRequests.get(inst.spotRequestId) : undefined;
    if (req && (req.state === 'active' || req.state === 'open')) {
      req.state = 'closed';
      req.statusCode = statusCode;
      req.updateTime = this.now();
    }
  }

  private setState(
    inst: InstanceRecord,
    state: InstanceStateName,
    reason: { code: string; message: string } | undefined,
  ): void {
    const before = inst.state;
    inst.state = state;
    inst.stateSince = this.now();
    inst.stateReason = reason;
    if (state === 'running' && before !== 'running') {
      this.startProcess(inst);
      this.startNodeCommands(inst);
    }
    if (state !== 'running' && before === 'running') this.stopProcess(inst);
    if (state === 'terminated') this.options.instanceImds?.close(inst.id);
  }

  private startProcess(inst: InstanceRecord): void {
    const { mesosMaster, launcher } = this.options;
    if (!mesosMaster || !launcher) return;
    const spec = parseNodeUserData(inst.userData);
    if (!spec || spec.role !== 'worker' || !spec.master) return;
    if (spec.engine !== (launcher.engine ?? 'mesos')) {
      this.log.warn(
        { instanceId: inst.id, userData: spec.engine, here: launcher.engine ?? 'mesos' },
        "the instance's user data joins another engine than this cloud's: no node process",
      );
      return;
    }
    // The user data names the leader's private address, as on AWS; on this machine the leader's
    // controller (Mesos master or slurmctld) is the local one, so a private address of this
    // region maps onto it.
    const [host] = spec.master.split(':');
    const isPrivate = [...this.instances.values()].some((i) => i.privateIp === host);
    const master = isPrivate ? mesosMaster : spec.master;
    const start = (imdsEndpoint: string): NodeProcess =>
      launcher.startAgent({
        instanceId: inst.id,
        privateIp: inst.privateIp,
        master,
        cpus: inst.type.vcpus,
        memoryMiB: inst.type.memoryMiB,
        diskMiB: inst.rootVolumeGiB * 1024,
        attributes: spec.attributes,
        ...(spec.engine === 'slurm' ? { slurmFeatures: spec.features ?? [] } : {}),
        imdsEndpoint,
      });
    inst.process = this.startOnInstance(inst, start, 'the agent process');
  }

  /** Starts one of the instance's processes once its metadata endpoint is known; undefined if it failed. */
  private startOnInstance(
    inst: InstanceRecord,
    start: (imdsEndpoint: string) => NodeProcess,
    what: string,
  ): NodeProcess | undefined {
    const imds = this.options.instanceImds;
    const onError = (err: unknown): void =>
      this.log.warn({ instanceId: inst.id, err }, `could not start ${what}`);
    try {
      // The instance's metadata listener opened at launch; in the rare case it is not up yet,
      // the process starts as soon as it is.
      const url = imds?.url(inst.id);
      return imds && !url ? deferredProcess(imds.ready(inst.id).then(start), onError) : start(url ?? '');
    } catch (err) {
      onError(err);
      return undefined;
    }
  }

  /**
   * The instance's other units that run a `toil` command the local cloud runs as it is (the
   * rebalance watch, on every worker of either engine), each a process of the instance with its
   * own metadata endpoint, as on a node: read from the user data, nothing else.
   */
  private startNodeCommands(inst: InstanceRecord): void {
    const launcher = this.options.nodeCommands;
    if (!launcher) return;
    for (const { unit, args } of parseNodeToilCommands(inst.userData)) {
      const p = this.startOnInstance(
        inst,
        (imdsEndpoint) =>
          launcher.startCommand({ instanceId: inst.id, privateIp: inst.privateIp, unit, args, imdsEndpoint }),
        `${unit}'s process`,
      );
      if (p) inst.unitProcesses.push(p);
    }
  }

  private stopProcess(inst: InstanceRecord): void {
    const all = [inst.process, ...inst.unitProcesses];
    inst.process = undefined;
    inst.unitProcesses = [];
    for (const p of all) {
      if (!p) continue;
      // Not awaited (terminating answers at once), but tracked: a shutdown right after still
      // waits for the process to end and its disk to be removed.
      const stop = p.stop().finally(() => this.stopping.delete(stop));
      this.stopping.add(stop);
    }
  }

  /** Stops every process this region started (the endpoint is shutting down). */
  async stopAllProcesses(): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const inst of this.instances.values()) {
      for (const p of [inst.process, ...inst.unitProcesses]) if (p) stops.push(p.stop());
      inst.process = undefined;
      inst.unitProcesses = [];
    }
    await Promise.all([...stops, ...this.stopping]);
  }

  /** EC2 refuses an unknown filter name whether or not anything would be filtered. */
  checkInstanceFilters(filters: readonly Filter[]): void {
    for (const f of filters)
      if (!f.name.startsWith('tag:') && !INSTANCE_FILTERS.has(f.name))
        throw new Ec2ApiError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
  }

  instanceMatches(inst: InstanceRecord, f: Filter): boolean {
    const v = f.values;
    if (f.name.startsWith('tag:')) return anyMatch(v, inst.tags.get(f.name.slice(4)));
    switch (f.name) {
      case 'tag-key':
        return [...inst.tags.keys()].some((k) => anyMatch(v, k));
      case 'tag-value':
        return [...inst.tags.values()].some((x) => anyMatch(v, x));
      case 'instance-state-name':
        return anyMatch(v, inst.state);
      case 'instance-state-code':
        return anyMatch(v, String(STATE_CODES[inst.state]));
      case 'instance-id':
        return anyMatch(v, inst.id);
      case 'instance-type':
        return anyMatch(v, inst.type.name);
      case 'instance.group-name':
      case 'group-name':
        return inst.groupIds.some((g) => anyMatch(v, this.securityGroups.get(g)?.name));
      case 'instance.group-id':
      case 'group-id':
        return inst.groupIds.some((g) => anyMatch(v, g));
      case 'availability-zone':
        return anyMatch(v, inst.zone);
      case 'vpc-id':
        return anyMatch(v, inst.vpcId);
      case 'subnet-id':
        return anyMatch(v, inst.subnetId);
      case 'private-ip-address':
        return anyMatch(v, inst.privateIp);
      case 'ip-address':
        return anyMatch(v, inst.publicIp);
      case 'instance-lifecycle':
        return inst.market === 'spot' && anyMatch(v, 'spot');
      case 'spot-instance-request-id':
        return anyMatch(v, inst.spotRequestId);
      case 'key-name':
        return anyMatch(v, inst.keyName);
      case 'image-id':
        return anyMatch(v, inst.imageId);
      case 'reservation-id':
        return anyMatch(v, inst.reservationId);
      case 'client-token':
        return anyMatch(v, inst.clientToken);
      case 'metadata-options.http-tokens':
        return anyMatch(v, inst.metadata.httpTokens);
      default:
        throw new Ec2ApiError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    }
  }

  // ---------------------------------------------------------------- tags

  /** The tag map of any resource this region knows, by id. */
  tagsOf(resourceId: string): { type: string; tags: Map<string, string> } {
    const inst = this.instances.get(resourceId);
    if (inst) return { type: 'instance', tags: inst.tags };
    const sg = this.securityGroups.get(resourceId);
    if (sg) return { type: 'security-group', tags: sg.tags };
    const sir = this.spotRequests.get(resourceId);
    if (sir) return { type: 'spot-instances-request', tags: sir.tags };
    const kp = [...this.keyPairs.values()].find((k) => k.id === resourceId);
    if (kp) return { type: 'key-pair', tags: kp.tags };
    const vpc = this.vpcs.find((v) => v.id === resourceId);
    if (vpc) return { type: 'vpc', tags: vpc.tags };
    const subnet = this.subnets.find((x) => x.id === resourceId);
    if (subnet) return { type: 'subnet', tags: subnet.tags };
    if (resourceId.startsWith('i-'))
      throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${resourceId}' does not exist`);
    if (resourceId.startsWith('sg-'))
      throw new Ec2ApiError('InvalidGroup.NotFound', `The security group '${resourceId}' does not exist`);
    throw new Ec2ApiError('InvalidID', `The ID '${resourceId}' is not valid`);
  }

  allTaggedResources(): { id: string; type: string; tags: Map<string, string> }[] {
    const out: { id: string; type: string; tags: Map<string, string> }[] = [];
    for (const i of this.instances.values()) out.push({ id: i.id, type: 'instance', tags: i.tags });
    for (const g of this.securityGroups.values())
      out.push({ id: g.id, type: 'security-group', tags: g.tags });
    for (const s of this.spotRequests.values())
      out.push({ id: s.id, type: 'spot-instances-request', tags: s.tags });
    for (const k of this.keyPairs.values()) out.push({ id: k.id, type: 'key-pair', tags: k.tags });
    for (const v of this.vpcs) out.push({ id: v.id, type: 'vpc', tags: v.tags });
    for (const x of this.subnets) out.push({ id: x.id, type: 'subnet', tags: x.tags });
    return out;
  }

  // ---------------------------------------------------------------- security groups

  createSecurityGroup(
    name: string,
    description: string,
    vpcId: string | undefined,
    tags: Map<string, string>,
  ): SecurityGroupRecord {
    const vpc = vpcId ?? this.vpcId;
    if (!this.vpcs.some((v) => v.id === vpc))
      throw new Ec2ApiError('InvalidVpcID.NotFound', `The vpc ID '${vpc}' does not exist`);
    if (!name || !description)
      throw new Ec2ApiError('MissingParameter', 'GroupName and GroupDescription are required');
    if ([...this.securityGroups.values()].some((g) => g.name === name && g.vpcId === vpc))
      throw new Ec2ApiError(
        'InvalidGroup.Duplicate',
        `The security group '${name}' already exists for VPC '${vpc}'`,
      );
    const g: SecurityGroupRecord = { id: `sg-${hex(17)}`, name, description, vpcId: vpc, tags, ingress: [] };
    this.securityGroups.set(g.id, g);
    return g;
  }

  findGroup(idOrName: { id?: string; name?: string }): SecurityGroupRecord {
    if (idOrName.id !== undefined) {
      const g = this.securityGroups.get(idOrName.id);
      if (!g)
        throw new Ec2ApiError('InvalidGroup.NotFound', `The security group '${idOrName.id}' does not exist`);
      return g;
    }
    const g = [...this.securityGroups.values()].find(
      (x) => x.name === idOrName.name && x.vpcId === this.vpcId,
    );
    if (!g)
      throw new Ec2ApiError(
        'InvalidGroup.NotFound',
        `The security group '${idOrName.name}' does not exist in default VPC '${this.vpcId}'`,
      );
    return g;
  }

  deleteSecurityGroup(g: SecurityGroupRecord): void {
    if (g.name === 'default')
      throw new Ec2ApiError(
        'CannotDelete',
        `the specified group: "${g.id}" name: "default" cannot be deleted by a user`,
      );
    const users = [...this.instances.values()].some(
      (i) => i.state !== 'terminated' && i.groupIds.includes(g.id),
    );
    const referenced = [...this.securityGroups.values()].some(
      (o) => o.id !== g.id && o.ingress.some((r) => r.sourceGroupId === g.id),
    );
    if (users || referenced)
      throw new Ec2ApiError('DependencyViolation', `resource ${g.id} has a dependent object`);
    this.securityGroups.delete(g.id);
  }

  authorizeIngress(g: SecurityGroupRecord, rules: Omit<SecurityGroupRule, 'id'>[]): SecurityGroupRule[] {
    const same = (a: Omit<SecurityGroupRule, 'id'>, b: Omit<SecurityGroupRule, 'id'>): boolean =>
      a.protocol === b.protocol &&
      a.fromPort === b.fromPort &&
      a.toPort === b.toPort &&
      a.cidr === b.cidr &&
      a.cidrV6 === b.cidrV6 &&
      a.sourceGroupId === b.sourceGroupId;
    for (const r of rules) {
      if (r.sourceGroupId !== undefined && !this.securityGroups.has(r.sourceGroupId))
        throw new Ec2ApiError(
          'InvalidGroup.NotFound',
          `The security group '${r.sourceGroupId}' does not exist`,
        );
      if (r.protocol !== '-1' && (r.fromPort === undefined || r.toPort === undefined))
        throw new Ec2ApiError('InvalidParameterValue', 'FromPort and ToPort are required for tcp/udp rules');
      if (g.ingress.some((x) => same(x, r))) {
        const src = r.cidr ?? r.cidrV6 ?? r.sourceGroupId ?? '';
        throw new Ec2ApiError(
          'InvalidPermission.Duplicate',
          `the specified rule "peer: ${src}, ${r.protocol.toUpperCase()}, from port: ${r.fromPort ?? -1}, to port: ${r.toPort ?? -1}, ALLOW" already exists`,
        );
      }
    }
    const added = rules.map((r) => ({ ...r, id: `sgr-${hex(17)}` }));
    g.ingress.push(...added);
    return added;
  }

  // ---------------------------------------------------------------- key pairs

  importKeyPair(name: string, publicKey: string, tags: Map<string, string>): KeyPairRecord {
    if (this.keyPairs.has(name))
      throw new Ec2ApiError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
    const words = publicKey.trim().split(/\s+/);
    const type = words[0] === 'ssh-rsa' ? 'rsa' : words[0] === 'ssh-ed25519' ? 'ed25519' : undefined;
    if (!type || !words[1])
      throw new Ec2ApiError('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');
    const digest = createHash('md5').update(Buffer.from(words[1], 'base64')).digest('hex');
    const fingerprint = digest.match(/../g)!.join(':');
    const kp: KeyPairRecord = { id: `key-${hex(17)}`, name, fingerprint, type, tags, createTime: this.now() };
    this.keyPairs.set(name, kp);
    return kp;
  }

  createKeyPair(name: string, tags: Map<string, string>): { record: KeyPairRecord; material: string } {
    if (this.keyPairs.has(name))
      throw new Ec2ApiError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const material = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const fingerprint = createHash('sha1').update(der).digest('hex').match(/../g)!.join(':');
    const record: KeyPairRecord = {
      id: `key-${hex(17)}`,
      name,
      fingerprint,
      type: 'rsa',
      tags,
      createTime: this.now(),
    };
    this.keyPairs.set(name, record);
    return { record, material };
  }

  // ---------------------------------------------------------------- prices

  get spotMarket(): SpotMarket {
    return this.options.spotMarket;
  }

  spotPriceOf(typeName: string, zone: string): number | undefined {
    const type = INSTANCE_TYPES_BY_NAME.get(typeName);
    return type ? this.options.spotMarket.priceAt(type, zone, this.now()) : undefined;
  }

  accountId(): string {
    return ACCOUNT_ID;
  }
}
