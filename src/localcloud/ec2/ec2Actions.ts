import { INSTANCE_TYPES, INSTANCE_TYPES_BY_NAME, LOCAL_IMAGE, regionsOfPartition } from './catalogue.js';
import {
  Ec2ApiError,
  STATE_CODES,
  type Ec2Cloud,
  type InstanceRecord,
  type InstanceStateName,
  type RunRequest,
  type SecurityGroupRecord,
  type SecurityGroupRule,
  type SpotRequestRecord,
  type SubnetRecord,
  type VpcRecord,
} from './ec2Cloud.js';
import type { Market } from './faults.js';
import { checkImageId } from './imageId.js';
import { anyMatch, type Filter, type QueryParams } from './query.js';
import { describeSpotPriceHistory } from './spotPriceHistory.js';
import { el, items, node, tagSet } from './xml.js';

/** One API action: reads its parameters, changes or reads the region, renders the reply body. */
export type ActionHandler = (cloud: Ec2Cloud, p: QueryParams) => string;

/** EC2's limits on tags: per resource, and on a key's and a value's length. */
const TAGS_PER_RESOURCE = 50;
const TAG_KEY_MAX = 128;
const TAG_VALUE_MAX = 256;

/**
 * What EC2 refuses in a CreateTags, or in a RunInstances' tags of one resource type (where the
 * targets are the new resource, untagged), checked before any resource changes.
 */
function checkTags(
  tags: readonly (readonly [string, string])[],
  targets: readonly Map<string, string>[],
): void {
  if (tags.length === 0)
    throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter Tag');
  for (const [k, v] of tags) {
    if (k === '')
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Tag key must be 1 to ${TAG_KEY_MAX} characters: '${k}'`,
      );
    if ([...k].length > TAG_KEY_MAX)
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Tag key exceeds the maximum length of ${TAG_KEY_MAX} characters`,
      );
    if (k.toLowerCase().startsWith('aws:'))
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Value ( ${k} ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use`,
      );
    if ([...v].length > TAG_VALUE_MAX)
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Tag value exceeds the maximum length of ${TAG_VALUE_MAX} characters`,
      );
  }
  for (const t of targets) {
    const after = new Set([...t.keys(), ...tags.map(([k]) => k)]);
    if (after.size > TAGS_PER_RESOURCE)
      throw new Ec2ApiError(
        'TagLimitExceeded',
        'The maximum number of tags for the resource has been reached.',
      );
  }
}

/** Actions that change state: a lost response after one of these is what ClientToken guards. */
export const MUTATING_ACTIONS: ReadonlySet<string> = new Set([
  'RunInstances',
  'TerminateInstances',
  'CreateTags',
  'DeleteTags',
  'CreateSecurityGroup',
  'DeleteSecurityGroup',
  'AuthorizeSecurityGroupIngress',
  'ImportKeyPair',
  'CreateKeyPair',
  'DeleteKeyPair',
  'CancelSpotInstanceRequests',
  'CreateVpc',
  'CreateSubnet',
  'ModifySubnetAttribute',
]);

function stateXml(name: string, s: InstanceStateName): string {
  return node(name, el('code', STATE_CODES[s]) + el('name', s));
}

/** A VPC as EC2 renders it (CreateVpc's `vpc`, an item of DescribeVpcs' `vpcSet`). */
function vpcXml(cloud: Ec2Cloud, v: VpcRecord, state: 'pending' | 'available'): string {
  return (
    el('vpcId', v.id) +
    el('ownerId', cloud.accountId()) +
    el('state', state) +
    el('cidrBlock', v.cidr) +
    el('dhcpOptionsId', 'dopt-00000001') +
    el('instanceTenancy', 'default') +
    el('isDefault', v.isDefault) +
    tagSet(v.tags)
  );
}

/** A subnet as EC2 renders it (CreateSubnet's `subnet`, an item of DescribeSubnets' `subnetSet`). */
function subnetXml(cloud: Ec2Cloud, s: SubnetRecord, state: 'pending' | 'available'): string {
  return (
    el('subnetId', s.id) +
    el('subnetArn', `arn:aws:ec2:${cloud.region}:${cloud.accountId()}:subnet/${s.id}`) +
    el('state', state) +
    el('ownerId', cloud.accountId()) +
    el('vpcId', s.vpcId) +
    el('cidrBlock', s.cidr) +
    el('availableIpAddressCount', 2 ** (32 - Number(s.cidr.split('/')[1])) - 5) +
    el('availabilityZone', s.zone) +
    el('availabilityZoneId', s.zoneId) +
    el('defaultForAz', s.defaultForAz) +
    el('mapPublicIpOnLaunch', s.mapPublicIpOnLaunch) +
    tagSet(s.tags)
  );
}

/**
 * Tags per resource type from `TagSpecification.N.ResourceType` / `.Tag.M.Key|Value`, held to
 * EC2's rules as CreateTags is: each type's tags go on one new resource.
 */
function tagSpecifications(p: QueryParams): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const spec of p.structs('TagSpecification')) {
    const type = spec.get('ResourceType') ?? '';
    const tags = out.get(type) ?? new Map<string, string>();
    for (const t of spec.structs('Tag')) tags.set(t.get('Key') ?? '', t.get('Value') ?? '');
    out.set(type, tags);
  }
  for (const tags of out.values()) if (tags.size > 0) checkTags([...tags], [new Map()]);
  return out;
}

/** Canonical parameters (without the transport's own fields), to compare two uses of one token. */
function requestFingerprint(p: QueryParams): string {
  return p
    .entries()
    .filter(([k]) => k !== 'Action' && k !== 'Version')
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('&');
}

export function instanceXml(cloud: Ec2Cloud, i: InstanceRecord): string {
  const groups = i.groupIds.map((id) => cloud.securityGroups.get(id)).filter((g) => g !== undefined);
  const privateDns = `ip-${i.privateIp.replace(/\./g, '-')}.${cloud.region}.compute.internal`;
  return (
    el('instanceId', i.id) +
    el('imageId', i.imageId) +
    stateXml('instanceState', i.state) +
    el('privateDnsName', privateDns) +
    node('dnsName', i.publicIp && i.state === 'running' ? 'localhost' : '') +
    node('reason', i.stateReason?.message ?? '') +
    el('keyName', i.keyName) +
    el('amiLaunchIndex', i.amiLaunchIndex) +
    node('productCodes', '') +
    el('instanceType', i.type.name) +
    el('launchTime', new Date(i.launchTime)) +
    node('placement', el('availabilityZone', i.zone) + node('groupName', '') + el('tenancy', 'default')) +
    node('monitoring', el('state', 'disabled')) +
    el('subnetId', i.subnetId) +
    el('vpcId', i.vpcId) +
    el('privateIpAddress', i.privateIp) +
    el('ipAddress', i.state === 'running' || i.state === 'pending' ? i.publicIp : undefined) +
    el('sourceDestCheck', true) +
    items('groupSet', groups, (g) => el('groupId', g.id) + el('groupName', g.name)) +
    (i.stateReason
      ? node('stateReason', el('code', i.stateReason.code) + el('message', i.stateReason.message))
      : '') +
    el('architecture', i.type.architecture) +
    el('rootDeviceType', 'ebs') +
    el('rootDeviceName', '/dev/xvda') +
    items(
      'blockDeviceMapping',
      i.state === 'terminated' ? [] : [i],
      (x) =>
        el('deviceName', '/dev/xvda') +
        node(
          'ebs',
          el('volumeId', `vol-${x.id.slice(2)}`) +
            el('status', 'attached') +
            el('attachTime', new Date(x.launchTime)) +
            el('deleteOnTermination', true),
        ),
    ) +
    (i.market === 'spot'
      ? el('instanceLifecycle', 'spot') + el('spotInstanceRequestId', i.spotRequestId)
      : '') +
    el('virtualizationType', 'hvm') +
    el('clientToken', i.clientToken ?? '') +
    tagSet(i.tags) +
    el('hypervisor', 'xen') +
    (i.iamInstanceProfileArn
      ? node(
          'iamInstanceProfile',
          el('arn', i.iamInstanceProfileArn) + el('id', `AIPA${i.id.slice(2, 19).toUpperCase()}`),
        )
      : '') +
    el('ebsOptimized', false) +
    node(
      'metadataOptions',
      el('state', 'applied') +
        el('httpTokens', i.metadata.httpTokens) +
        el('httpPutResponseHopLimit', i.metadata.hopLimit) +
        el('httpEndpoint', i.metadata.httpEndpoint) +
        el('httpProtocolIpv6', 'disabled') +
        el('instanceMetadataTags', 'disabled'),
    ) +
    node(
      'cpuOptions',
      el('coreCount', Math.max(1, i.type.vcpus / 2)) + el('threadsPerCore', i.type.vcpus > 1 ? 2 : 1),
    )
  );
}

function reservationXml(cloud: Ec2Cloud, id: string, instances: InstanceRecord[]): string {
  return (
    el('reservationId', id) +
    el('ownerId', cloud.accountId()) +
    node('groupSet', '') +
    items('instancesSet', instances, (i) => instanceXml(cloud, i))
  );
}

function paging(p: QueryParams, min: number, max: number): { start: number; size: number } {
  const maxResults = p.int('MaxResults');
  if (maxResults !== undefined && (Number.isNaN(maxResults) || maxResults < min || maxResults > max))
    throw new Ec2ApiError(
      'InvalidParameterValue',
      `Value ( ${p.get('MaxResults')} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  const token = p.get('NextToken');
  let start = 0;
  if (token) {
    const decoded = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^page:/, ''),
    );
    if (!Number.isInteger(decoded) || decoded < 0)
      throw new Ec2ApiError('InvalidParameterValue', `The token '${token}' is invalid`);
    start = decoded;
  }
  return { start, size: maxResults ?? Number.POSITIVE_INFINITY };
}

function nextToken(next: number, total: number): string {
  return next < total ? el('nextToken', Buffer.from(`page:${next}`).toString('base64url')) : '';
}

function readRunRequest(p: QueryParams): RunRequest {
  const market: Market = p.get('InstanceMarketOptions.MarketType') === 'spot' ? 'spot' : 'on-demand';
  const maxPriceText = p.get('InstanceMarketOptions.SpotOptions.MaxPrice');
  const tokens = p.get('MetadataOptions.HttpTokens');
  const endpoint = p.get('MetadataOptions.HttpEndpoint');
  const root = p
    .structs('BlockDeviceMapping')
    .find((b) => b.get('DeviceName') === '/dev/xvda' || b.get('DeviceName') === '/dev/sda1');
  const imageId = p.get('ImageId');
  const instanceType = p.get('InstanceType');
  if (!imageId) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter ImageId');
  if (!instanceType)
    throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter InstanceType');
  if (tokens !== undefined && tokens !== 'optional' && tokens !== 'required')
    throw new Ec2ApiError('InvalidParameterValue', `Value (${tokens}) for parameter HttpTokens is invalid.`);
  return {
    imageId,
    instanceType,
    minCount: p.int('MinCount') ?? Number.NaN,
    maxCount: p.int('MaxCount') ?? Number.NaN,
    zone: p.get('Placement.AvailabilityZone'),
    subnetId: p.get('SubnetId'),
    securityGroupIds: p.list('SecurityGroupId'),
    securityGroupNames: p.list('SecurityGroup'),
    keyName: p.get('KeyName'),
    userData: p.get('UserData'),
    clientToken: p.get('ClientToken'),
    market,
    maxPrice: maxPriceText === undefined ? undefined : Number(maxPriceText),
    tags: tagSpecifications(p),
    metadata: {
      httpTokens: tokens,
      hopLimit: p.int('MetadataOptions.HttpPutResponseHopLimit'),
      httpEndpoint: endpoint === 'disabled' ? 'disabled' : endpoint === 'enabled' ? 'enabled' : undefined,
    },
    rootVolumeGiB: root?.int('Ebs.VolumeSize'),
    rootVolumeType: root?.get('Ebs.VolumeType'),
    iamInstanceProfileArn:
      p.get('IamInstanceProfile.Arn') ??
      (p.get('IamInstanceProfile.Name')
        ? `arn:aws:iam::123456789012:instance-profile/${p.get('IamInstanceProfile.Name')}`
        : undefined),
    fingerprint: requestFingerprint(p),
  };
}

function ruleFromPermission(perm: QueryParams): Omit<SecurityGroupRule, 'id'>[] {
  const protocol = (perm.get('IpProtocol') ?? '-1').toLowerCase();
  const base = {
    protocol: protocol === 'all' ? '-1' : protocol,
    fromPort: protocol === '-1' ? undefined : perm.int('FromPort'),
    toPort: protocol === '-1' ? undefined : perm.int('ToPort'),
  };
  const rules: Omit<SecurityGroupRule, 'id'>[] = [];
  for (const r of perm.structs('IpRanges'))
    rules.push({
      ...base,
      cidr: r.get('CidrIp'),
      cidrV6: undefined,
      sourceGroupId: undefined,
      description: r.get('Description'),
    });
  for (const r of perm.structs('Ipv6Ranges'))
    rules.push({
      ...base,
      cidr: undefined,
      cidrV6: r.get('CidrIpv6'),
      sourceGroupId: undefined,
      description: r.get('Description'),
    });
  for (const r of perm.structs('Groups'))
    rules.push({
      ...base,
      cidr: undefined,
      cidrV6: undefined,
      sourceGroupId: r.get('GroupId'),
      description: r.get('Description'),
    });
  if (rules.length === 0)
    throw new Ec2ApiError(
      'MissingParameter',
      'An IP permission needs a source (IpRanges, Ipv6Ranges or Groups)',
    );
  return rules;
}

function permissionsXml(cloud: Ec2Cloud, g: SecurityGroupRecord): string {
  // EC2 groups rules with the same protocol and ports into one IpPermission.
  const byKey = new Map<string, SecurityGroupRule[]>();
  for (const r of g.ingress) {
    const key = `${r.protocol}/${r.fromPort ?? ''}/${r.toPort ?? ''}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return items('ipPermissions', [...byKey.values()], (rules) => {
    const r0 = rules[0]!;
    return (
      el('ipProtocol', r0.protocol) +
      el('fromPort', r0.fromPort) +
      el('toPort', r0.toPort) +
      items(
        'groups',
        rules.filter((r) => r.sourceGroupId),
        (r) =>
          el('userId', cloud.accountId()) + el('groupId', r.sourceGroupId) + el('description', r.description),
      ) +
      items(
        'ipRanges',
        rules.filter((r) => r.cidr),
        (r) => el('cidrIp', r.cidr) + el('description', r.description),
      ) +
      items(
        'ipv6Ranges',
        rules.filter((r) => r.cidrV6),
        (r) => el('cidrIpv6', r.cidrV6) + el('description', r.description),
      ) +
      node('prefixListIds', '')
    );
  });
}

function matchAll<T>(list: T[], filters: Filter[], match: (x: T, f: Filter) => boolean): T[] {
  return list.filter((x) => filters.every((f) => match(x, f)));
}

function tagFilter(tags: ReadonlyMap<string, string>, f: Filter): boolean | undefined {
  if (f.name.startsWith('tag:')) return anyMatch(f.values, tags.get(f.name.slice(4)));
  if (f.name === 'tag-key') return [...tags.keys()].some((k) => anyMatch(f.values, k));
  if (f.name === 'tag-value') return [...tags.values()].some((k) => anyMatch(f.values, k));
  return undefined;
}

function invalidFilter(f: Filter): never {
  throw new Ec2ApiError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
}

function spotRequestXml(r: SpotRequestRecord): string {
  const messages: Record<string, string> = {
    fulfilled: 'Your spot request is fulfilled.',
    'instance-terminated-by-user': 'Spot Instance terminated due to user-initiated termination.',
    'instance-terminated-no-capacity': 'Spot Instance terminated due to no available capacity.',
    'marked-for-termination': 'Spot Instance is marked for termination.',
    'request-canceled-and-instance-running': 'Spot request canceled, but the instance is still running.',
    canceled: 'Spot request canceled.',
  };
  return (
    el('spotInstanceRequestId', r.id) +
    el('spotPrice', r.maxPrice.toFixed(6)) +
    el('type', 'one-time') +
    el('state', r.state) +
    node(
      'status',
      el('code', r.statusCode) +
        el('updateTime', new Date(r.updateTime)) +
        el('message', messages[r.statusCode] ?? r.statusCode),
    ) +
    node(
      'launchSpecification',
      el('imageId', r.imageId) +
        el('instanceType', r.instanceType) +
        node('placement', el('availabilityZone', r.zone)),
    ) +
    el('instanceId', r.instanceId) +
    el('createTime', new Date(r.createTime)) +
    el('productDescription', 'Linux/UNIX') +
    tagSet(r.tags) +
    el('launchedAvailabilityZone', r.zone) +
    el('instanceInterruptionBehavior', 'terminate')
  );
}

export const ACTIONS: Readonly<Record<string, ActionHandler>> = {
  RunInstances(cloud, p) {
    const r = cloud.runInstances(readRunRequest(p));
    return reservationXml(cloud, r.id, r.instances);
  },

  DescribeInstances(cloud, p) {
    const ids = p.list('InstanceId');
    if (ids.length > 0 && p.has('MaxResults'))
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        'The parameter instancesSet cannot be used with the parameter maxResults',
      );
    const filters = p.filters();
    cloud.checkInstanceFilters(filters);
    const pool = ids.length > 0 ? cloud.getInstances(ids) : [...cloud.instances.values()];
    const matched = matchAll(pool, filters, (i, f) => cloud.instanceMatches(i, f));
    const { start, size } = paging(p, 5, 1000);
    const page = matched.slice(start, start + size);
    // Consecutive instances of one reservation share one <item>, as EC2 groups them.
    const groups: { id: string; instances: InstanceRecord[] }[] = [];
    for (const i of page) {
      const last = groups[groups.length - 1];
      if (last && last.id === i.reservationId) last.instances.push(i);
      else groups.push({ id: i.reservationId, instances: [i] });
    }
    return (
      items('reservationSet', groups, (g) => reservationXml(cloud, g.id, g.instances)) +
      nextToken(start + page.length, matched.length)
    );
  },

  TerminateInstances(cloud, p) {
    const ids = p.list('InstanceId');
    if (ids.length === 0)
      throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter InstanceId');
    const done = cloud.terminateInstances(ids);
    return items(
      'instancesSet',
      done,
      ({ inst, previous }) =>
        el('instanceId', inst.id) +
        stateXml('currentState', inst.state) +
        stateXml('previousState', previous),
    );
  },

  CreateTags(cloud, p) {
    const ids = p.list('ResourceId');
    const tags = p.structs('Tag').map((t) => [t.get('Key') ?? '', t.get('Value') ?? ''] as const);
    if (ids.length === 0)
      throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter ResourceId');
    const targets = ids.map((id) => cloud.tagsOf(id).tags);
    checkTags(tags, targets);
    for (const t of targets) for (const [k, v] of tags) t.set(k, v);
    return el('return', true);
  },

  DeleteTags(cloud, p) {
    const targets = p.list('ResourceId').map((id) => cloud.tagsOf(id).tags);
    const tags = p.structs('Tag');
    for (const t of targets)
      for (const tag of tags) {
        const k = tag.get('Key') ?? '';
        if (!tag.has('Value') || t.get(k) === tag.get('Value')) t.delete(k);
      }
    return el('return', true);
  },

  DescribeTags(cloud, p) {
    const rows = cloud
      .allTaggedResources()
      .flatMap((r) => [...r.tags].map(([key, value]) => ({ id: r.id, type: r.type, key, value })));
    const matched = matchAll(rows, p.filters(), (row, f) => {
      switch (f.name) {
        case 'resource-id':
          return anyMatch(f.values, row.id);
        case 'resource-type':
          return anyMatch(f.values, row.type);
        case 'key':
          return anyMatch(f.values, row.key);
        case 'value':
          return anyMatch(f.values, row.value);
        default:
          if (f.name.startsWith('tag:')) return row.key === f.name.slice(4) && anyMatch(f.values, row.value);
          return invalidFilter(f);
      }
    });
    const { start, size } = paging(p, 5, 1000);
    const page = matched.slice(start, start + size);
    return (
      items(
        'tagSet',
        page,
        (r) => el('resourceId', r.id) + el('resourceType', r.type) + el('key', r.key) + el('value', r.value),
      ) + nextToken(start + page.length, matched.length)
    );
  },

  CreateSecurityGroup(cloud, p) {
    const g = cloud.createSecurityGroup(
      p.get('GroupName') ?? '',
      p.get('GroupDescription') ?? '',
      p.get('VpcId'),
      tagSpecifications(p).get('security-group') ?? new Map<string, string>(),
    );
    return el('return', true) + el('groupId', g.id) + tagSet(g.tags);
  },

  DescribeSecurityGroups(cloud, p) {
    const ids = p.list('GroupId');
    const names = p.list('GroupName');
    let pool = [...cloud.securityGroups.values()];
    if (ids.length > 0) pool = ids.map((id) => cloud.findGroup({ id }));
    if (names.length > 0) pool = names.map((name) => cloud.findGroup({ name }));
    const matched = matchAll(pool, p.filters(), (g, f) => {
      const t = tagFilter(g.tags, f);
      if (t !== undefined) return t;
      switch (f.name) {
        case 'group-name':
          return anyMatch(f.values, g.name);
        case 'group-id':
          return anyMatch(f.values, g.id);
        case 'vpc-id':
          return anyMatch(f.values, g.vpcId);
        case 'description':
          return anyMatch(f.values, g.description);
        default:
          return invalidFilter(f);
      }
    });
    return items(
      'securityGroupInfo',
      matched,
      (g) =>
        el('ownerId', cloud.accountId()) +
        el('groupId', g.id) +
        el('groupName', g.name) +
        el('groupDescription', g.description) +
        el('vpcId', g.vpcId) +
        permissionsXml(cloud, g) +
        items(
          'ipPermissionsEgress',
          [g],
          () => el('ipProtocol', '-1') + items('ipRanges', [1], () => el('cidrIp', '0.0.0.0/0')),
        ) +
        tagSet(g.tags),
    );
  },

  DeleteSecurityGroup(cloud, p) {
    const id = p.get('GroupId');
    const g = cloud.findGroup(id !== undefined ? { id } : { name: p.get('GroupName') ?? '' });
    cloud.deleteSecurityGroup(g);
    return el('return', true) + el('groupId', g.id);
  },

  AuthorizeSecurityGroupIngress(cloud, p) {
    const id = p.get('GroupId');
    const g = cloud.findGroup(id !== undefined ? { id } : { name: p.get('GroupName') ?? '' });
    const rules = p.structs('IpPermissions').flatMap(ruleFromPermission);
    const added = cloud.authorizeIngress(g, rules);
    return (
      el('return', true) +
      items(
        'securityGroupRuleSet',
        added,
        (r) =>
          el('securityGroupRuleId', r.id) +
          el('groupId', g.id) +
          el('groupOwnerId', cloud.accountId()) +
          el('isEgress', false) +
          el('ipProtocol', r.protocol) +
          el('fromPort', r.fromPort ?? -1) +
          el('toPort', r.toPort ?? -1) +
          el('cidrIpv4', r.cidr) +
          el('cidrIpv6', r.cidrV6) +
          (r.sourceGroupId
            ? node('referencedGroupInfo', el('groupId', r.sourceGroupId) + el('userId', cloud.accountId()))
            : '') +
          el('description', r.description),
      )
    );
  },

  DescribeSpotPriceHistory: describeSpotPriceHistory,

  DescribeInstanceTypes(_cloud, p) {
    const names = p.list('InstanceType');
    for (const n of names)
      if (!INSTANCE_TYPES_BY_NAME.has(n))
        throw new Ec2ApiError(
          'InvalidInstanceType',
          `The following supplied instance types do not exist: [${n}]`,
        );
    const pool = names.length > 0 ? names.map((n) => INSTANCE_TYPES_BY_NAME.get(n)!) : [...INSTANCE_TYPES];
    const matched = matchAll(pool, p.filters(), (t, f) => {
      switch (f.name) {
        case 'instance-type':
          return anyMatch(f.values, t.name);
        case 'processor-info.supported-architecture':
          return anyMatch(f.values, t.architecture);
        case 'vcpu-info.default-vcpus':
          return anyMatch(f.values, String(t.vcpus));
        case 'memory-info.size-in-mib':
          return anyMatch(f.values, String(t.memoryMiB));
        case 'supported-usage-class':
          return anyMatch(f.values, 'spot') || anyMatch(f.values, 'on-demand');
        case 'current-generation':
          return anyMatch(f.values, 'true');
        default:
          return invalidFilter(f);
      }
    });
    const { start, size } = paging(p, 5, 100);
    const page = matched.slice(start, start + size);
    return (
      items(
        'instanceTypeSet',
        page,
        (t) =>
          el('instanceType', t.name) +
          el('currentGeneration', true) +
          items('supportedUsageClasses', ['on-demand', 'spot'], (u) => u) +
          items('supportedRootDeviceTypes', ['ebs'], (u) => u) +
          el('bareMetal', false) +
          el('hypervisor', 'nitro') +
          node(
            'processorInfo',
            items('supportedArchitectures', [t.architecture], (a) => a),
          ) +
          node(
            'vCpuInfo',
            el('defaultVCpus', t.vcpus) +
              el('defaultCores', Math.max(1, t.vcpus / 2)) +
              el('defaultThreadsPerCore', t.vcpus > 1 ? 2 : 1),
          ) +
          node('memoryInfo', el('sizeInMiB', t.memoryMiB)) +
          el('instanceStorageSupported', t.instanceStoreDisks > 0) +
          (t.instanceStoreDisks > 0
            ? node(
                'instanceStorageInfo',
                el('totalSizeInGB', t.instanceStoreDisks * t.instanceStoreGiB) +
                  items(
                    'disks',
                    [t],
                    (x) =>
                      el('sizeInGB', x.instanceStoreGiB) +
                      el('count', x.instanceStoreDisks) +
                      el('type', 'ssd'),
                  ),
              )
            : ''),
      ) + nextToken(start + page.length, matched.length)
    );
  },

  DescribeRegions(cloud, p) {
    const listed = regionsOfPartition(cloud.region);
    const home = cloud.homeRegion;
    const pool =
      home && !listed.includes(home) && regionsOfPartition(home)[0] === listed[0]
        ? [...listed, home]
        : listed;
    const names = p.list('RegionName');
    for (const n of names)
      if (!pool.includes(n)) throw new Ec2ApiError('InvalidParameterValue', `Invalid region: ${n}`);
    const matched = matchAll(
      pool.filter((r) => names.length === 0 || names.includes(r)),
      p.filters(),
      (r, f) => {
        switch (f.name) {
          case 'region-name':
            return anyMatch(f.values, r);
          case 'endpoint':
            return anyMatch(f.values, `ec2.${r}.amazonaws.com`);
          case 'opt-in-status':
            return anyMatch(f.values, 'opt-in-not-required');
          default:
            return invalidFilter(f);
        }
      },
    );
    return items(
      'regionInfo',
      matched,
      (r) =>
        el('regionName', r) +
        el('regionEndpoint', `ec2.${r}.amazonaws.com`) +
        el('optInStatus', 'opt-in-not-required'),
    );
  },

  DescribeAvailabilityZones(cloud, p) {
    const names = p.list('ZoneName');
    for (const n of names)
      if (!cloud.zones.includes(n))
        throw new Ec2ApiError('InvalidParameterValue', `Invalid availability zone: [${n}]`);
    const pool = cloud.zones.filter((z) => names.length === 0 || names.includes(z));
    const matched = matchAll(pool, p.filters(), (z, f) => {
      switch (f.name) {
        case 'zone-name':
          return anyMatch(f.values, z);
        case 'state':
          return anyMatch(f.values, 'available');
        case 'region-name':
          return anyMatch(f.values, cloud.region);
        case 'zone-type':
          return anyMatch(f.values, 'availability-zone');
        default:
          return invalidFilter(f);
      }
    });
    return items(
      'availabilityZoneInfo',
      matched,
      (z) =>
        el('zoneName', z) +
        el('zoneState', 'available') +
        el('regionName', cloud.region) +
        el('zoneId', cloud.subnets.find((s) => s.zone === z)?.zoneId) +
        el('zoneType', 'availability-zone') +
        el('optInStatus', 'opt-in-not-required') +
        el('groupName', cloud.region) +
        el('networkBorderGroup', cloud.region) +
        node('messageSet', ''),
    );
  },

  CreateVpc(cloud, p) {
    const cidr = p.get('CidrBlock');
    if (!cidr) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter cidrBlock');
    const vpc = cloud.createVpc(cidr, tagSpecifications(p).get('vpc') ?? new Map<string, string>());
    return node('vpc', vpcXml(cloud, vpc, 'pending'));
  },

  DescribeVpcs(cloud, p) {
    const ids = p.list('VpcId');
    for (const id of ids)
      if (!cloud.vpcs.some((v) => v.id === id))
        throw new Ec2ApiError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`);
    const pool = cloud.vpcs.filter((v) => ids.length === 0 || ids.includes(v.id));
    const matched = matchAll(pool, p.filters(), (v, f) => {
      switch (f.name) {
        case 'is-default':
          return anyMatch(f.values, String(v.isDefault));
        case 'vpc-id':
          return anyMatch(f.values, v.id);
        case 'cidr':
        case 'cidr-block':
          return anyMatch(f.values, v.cidr);
        case 'state':
          return anyMatch(f.values, 'available');
        default:
          if (f.name.startsWith('tag:')) return anyMatch(f.values, v.tags.get(f.name.slice(4)));
          return invalidFilter(f);
      }
    });
    return items('vpcSet', matched, (v) => vpcXml(cloud, v, 'available'));
  },

  CreateSubnet(cloud, p) {
    const subnet = cloud.createSubnet({
      vpcId: p.get('VpcId'),
      cidr: p.get('CidrBlock'),
      zone: p.get('AvailabilityZone'),
      tags: tagSpecifications(p).get('subnet') ?? new Map<string, string>(),
    });
    return node('subnet', subnetXml(cloud, subnet, 'pending'));
  },

  ModifySubnetAttribute(cloud, p) {
    const id = p.get('SubnetId');
    const subnet = cloud.subnets.find((s) => s.id === id);
    if (!subnet) throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    const mapPublic = p.get('MapPublicIpOnLaunch.Value');
    if (mapPublic !== undefined) subnet.mapPublicIpOnLaunch = mapPublic === 'true';
    return el('return', true);
  },

  DescribeSubnets(cloud, p) {
    const ids = p.list('SubnetId');
    for (const id of ids)
      if (!cloud.subnets.some((s) => s.id === id))
        throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    const pool = cloud.subnets.filter((s) => ids.length === 0 || ids.includes(s.id));
    const matched = matchAll(pool, p.filters(), (s, f) => {
      switch (f.name) {
        case 'availability-zone':
        case 'availabilityZone':
          return anyMatch(f.values, s.zone);
        case 'default-for-az':
        case 'defaultForAz':
          return anyMatch(f.values, String(s.defaultForAz));
        case 'vpc-id':
          return anyMatch(f.values, s.vpcId);
        case 'subnet-id':
          return anyMatch(f.values, s.id);
        case 'cidr-block':
          return anyMatch(f.values, s.cidr);
        case 'map-public-ip-on-launch':
          return anyMatch(f.values, String(s.mapPublicIpOnLaunch));
        case 'state':
          return anyMatch(f.values, 'available');
        default:
          if (f.name.startsWith('tag:')) return anyMatch(f.values, s.tags.get(f.name.slice(4)));
          return invalidFilter(f);
      }
    });
    return items('subnetSet', matched, (s) => subnetXml(cloud, s, 'available'));
  },

  DescribeImages(_cloud, p) {
    const ids = p.list('ImageId');
    const owners = p.list('Owner');
    const img = LOCAL_IMAGE;
    for (const id of ids) checkImageId(id);
    let pool = [img];
    if (owners.length > 0 && !owners.some((o) => o === img.ownerId || o === 'aws-marketplace')) pool = [];
    const matched = matchAll(pool, p.filters(), (i, f) => {
      switch (f.name) {
        case 'name':
          return anyMatch(f.values, i.name);
        case 'architecture':
          return anyMatch(f.values, i.architecture);
        case 'state':
          return anyMatch(f.values, 'available');
        case 'image-id':
          return anyMatch(f.values, i.imageId);
        case 'owner-id':
          return anyMatch(f.values, i.ownerId);
        case 'virtualization-type':
          return anyMatch(f.values, 'hvm');
        case 'root-device-type':
          return anyMatch(f.values, 'ebs');
        default:
          return invalidFilter(f);
      }
    });
    return items(
      'imagesSet',
      matched,
      (i) =>
        el('imageId', i.imageId) +
        el('imageLocation', `${i.ownerId}/${i.name}`) +
        el('imageState', 'available') +
        el('imageOwnerId', i.ownerId) +
        el('creationDate', i.creationDate) +
        el('isPublic', true) +
        el('architecture', i.architecture) +
        el('imageType', 'machine') +
        el('name', i.name) +
        el('description', 'Flatcar Container Linux stable') +
        el('rootDeviceType', 'ebs') +
        el('rootDeviceName', '/dev/xvda') +
        // The root snapshot, as EC2 lists it: its size is the smallest root volume RunInstances makes.
        items(
          'blockDeviceMapping',
          [i.rootSnapshot],
          (snap) =>
            el('deviceName', '/dev/xvda') +
            node(
              'ebs',
              el('snapshotId', snap.snapshotId) +
                el('volumeSize', snap.sizeGiB) +
                el('deleteOnTermination', true) +
                el('volumeType', 'gp2') +
                el('encrypted', false),
            ),
        ) +
        el('virtualizationType', 'hvm') +
        el('hypervisor', 'xen') +
        el('enaSupport', true),
    );
  },

  DescribeKeyPairs(cloud, p) {
    const names = p.list('KeyName');
    for (const n of names)
      if (!cloud.keyPairs.has(n))
        throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${n}' does not exist`);
    const pool = [...cloud.keyPairs.values()].filter((k) => names.length === 0 || names.includes(k.name));
    const matched = matchAll(pool, p.filters(), (k, f) => {
      const t = tagFilter(k.tags, f);
      if (t !== undefined) return t;
      if (f.name === 'key-name') return anyMatch(f.values, k.name);
      if (f.name === 'key-pair-id') return anyMatch(f.values, k.id);
      return invalidFilter(f);
    });
    return items(
      'keySet',
      matched,
      (k) =>
        el('keyPairId', k.id) +
        el('keyName', k.name) +
        el('keyFingerprint', k.fingerprint) +
        el('keyType', k.type) +
        tagSet(k.tags) +
        el('createTime', new Date(k.createTime)),
    );
  },

  ImportKeyPair(cloud, p) {
    const material = Buffer.from(p.get('PublicKeyMaterial') ?? '', 'base64').toString('utf8');
    const k = cloud.importKeyPair(
      p.get('KeyName') ?? '',
      material,
      tagSpecifications(p).get('key-pair') ?? new Map<string, string>(),
    );
    return (
      el('keyFingerprint', k.fingerprint) + el('keyName', k.name) + el('keyPairId', k.id) + tagSet(k.tags)
    );
  },

  CreateKeyPair(cloud, p) {
    const { record, material } = cloud.createKeyPair(
      p.get('KeyName') ?? '',
      tagSpecifications(p).get('key-pair') ?? new Map<string, string>(),
    );
    return (
      el('keyName', record.name) +
      el('keyFingerprint', record.fingerprint) +
      el('keyMaterial', material) +
      el('keyPairId', record.id) +
      tagSet(record.tags)
    );
  },

  DeleteKeyPair(cloud, p) {
    const name = p.get('KeyName');
    const k = name !== undefined ? cloud.keyPairs.get(name) : undefined;
    if (k) cloud.keyPairs.delete(k.name);
    return el('return', true) + el('keyPairId', k?.id);
  },

  DescribeSpotInstanceRequests(cloud, p) {
    const ids = p.list('SpotInstanceRequestId');
    for (const id of ids)
      if (!cloud.spotRequests.has(id))
        throw new Ec2ApiError(
          'InvalidSpotInstanceRequestID.NotFound',
          `The spot instance request ID '${id}' does not exist`,
        );
    const pool = [...cloud.spotRequests.values()].filter((r) => ids.length === 0 || ids.includes(r.id));
    const matched = matchAll(pool, p.filters(), (r, f) => {
      const t = tagFilter(r.tags, f);
      if (t !== undefined) return t;
      switch (f.name) {
        case 'state':
          return anyMatch(f.values, r.state);
        case 'instance-id':
          return anyMatch(f.values, r.instanceId);
        case 'spot-instance-request-id':
          return anyMatch(f.values, r.id);
        case 'status-code':
          return anyMatch(f.values, r.statusCode);
        case 'launched-availability-zone':
          return anyMatch(f.values, r.zone);
        default:
          return invalidFilter(f);
      }
    });
    const { start, size } = paging(p, 5, 1000);
    const page = matched.slice(start, start + size);
    return (
      items('spotInstanceRequestSet', page, spotRequestXml) + nextToken(start + page.length, matched.length)
    );
  },

  CancelSpotInstanceRequests(cloud, p) {
    const ids = p.list('SpotInstanceRequestId');
    const done = ids.map((id) => {
      const r = cloud.spotRequests.get(id);
      if (!r)
        throw new Ec2ApiError(
          'InvalidSpotInstanceRequestID.NotFound',
          `The spot instance request ID '${id}' does not exist`,
        );
      if (r.state === 'open' || r.state === 'active') {
        r.statusCode = r.state === 'active' ? 'request-canceled-and-instance-running' : 'canceled';
        r.state = 'cancelled';
        r.updateTime = cloud.now();
      }
      return r;
    });
    return items(
      'spotInstanceRequestSet',
      done,
      (r) => el('spotInstanceRequestId', r.id) + el('state', r.state),
    );
  },
};
