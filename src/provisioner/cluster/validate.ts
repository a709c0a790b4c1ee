import { isIP } from 'node:net';
import { regionNameProblem } from '../../common/awsRegions.js';
import { UserInputError } from '../../common/errors.js';
import { decimalNumber } from '../../common/units.js';
import { MAX_ROOT_VOLUME_GIB, ROOT_VOLUME_TYPE, type Market } from '../../ports/provisioner.js';
import { RESERVED_TAG_KEYS } from '../aws/tags.js';

/** Toil's rule, with a length cap so derived names (`<name>--internal` buckets) stay valid. */
export function validateClusterName(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name) || name.endsWith('-'))
    throw new UserInputError(
      'BAD_CLUSTER_NAME',
      `invalid cluster name '${name}': use 1–63 lowercase letters, digits and '-' (no '_' or capitals), starting with a letter or digit`,
      { name },
    );
  return name;
}

const ZONE_RE = /^([a-z]{2}(?:-gov)?-[a-z]+-\d+)([a-z])$/;

/** The region of an availability zone (`us-west-2a` → `us-west-2`). */
export function regionOfZone(zone: string, source: string): string {
  const m = ZONE_RE.exec(zone);
  if (!m)
    throw new UserInputError('BAD_ZONE', `${source}: '${zone}' is not an availability zone like us-west-2a`, {
      zone,
    });
  return m[1]!;
}

/**
 * The zone from --zone, else TOIL_AWS_ZONE; a clear error when neither is given (naming
 * TOIL_AWS_REGION too where a region would do).
 */
export function resolveZone(
  flag: string | undefined,
  envZone: string | undefined,
  regionWouldDo = false,
): { zone: string; source: string } {
  if (flag?.trim()) return { zone: flag.trim(), source: '--zone' };
  if (envZone?.trim()) return { zone: envZone.trim(), source: 'TOIL_AWS_ZONE' };
  throw new UserInputError(
    'NO_ZONE',
    regionWouldDo
      ? 'no zone or region given: pass --zone (e.g. --zone us-west-2a), or set TOIL_AWS_ZONE or TOIL_AWS_REGION (or a region in your AWS profile)'
      : 'no zone given: pass --zone (e.g. --zone us-west-2a) or set TOIL_AWS_ZONE',
  );
}

/** The partitions besides the standard one (`aws`) that a zone like ours can be in, by region prefix. */
const OTHER_PARTITIONS = [
  { prefix: 'us-gov-', partition: 'aws-us-gov', name: 'AWS GovCloud (US)' },
  { prefix: 'cn-', partition: 'aws-cn', name: 'AWS China' },
] as const;

/**
 * The roles and profiles launch-cluster makes (iamPolicies.ts) name resources of the standard
 * partition (`arn:aws:…`), and IAM of another one refuses such a policy (MalformedPolicyDocument:
 * Partition "aws" is not valid) once the first role is made: a zone there is refused before
 * anything is, unless the nodes get an instance profile of the user's (no IAM is made).
 */
export function checkZoneTakesClusterIam(zone: string, source: string): void {
  const region = regionOfZone(zone, source);
  const other = OTHER_PARTITIONS.find((p) => region.startsWith(p.prefix));
  if (other)
    throw new UserInputError(
      'BAD_ZONE',
      `${source}: zone '${zone}' is in ${other.name} (partition ${other.partition}), whose IAM refuses the roles launch-cluster makes (their policies name resources arn:aws:…, the standard partition's): give a zone of the standard partition, or pass --awsEc2ProfileArn with an instance profile made there beforehand`,
      { zone, partition: other.partition },
    );
}

/** Where a cluster command works: a region, and the zone it came from when one was given. */
export interface ClusterPlace {
  readonly region: string;
  readonly zone?: string;
  /** Where it came from (`--zone`, `TOIL_AWS_ZONE`, `TOIL_AWS_REGION`…), as a refusal names it. */
  readonly source: string;
}

/**
 * The region of a utility that works on an existing cluster (ssh-, rsync-, destroy-cluster): its
 * zone's (--zone, else TOIL_AWS_ZONE), else a region the user configured (`configured`:
 * TOIL_AWS_REGION, AWS_REGION, AWS_DEFAULT_REGION or the AWS profile's), as Toil falls back from
 * the zone to the configured region's first zone. A zone wins over a configured region, as in Toil
 * (TOIL_AWS_ZONE "overrides TOIL_AWS_REGION").
 */
export function resolveClusterRegion(
  flag: string | undefined,
  envZone: string | undefined,
  configured: { region: string; source: string } | undefined,
): ClusterPlace {
  if (flag?.trim() || envZone?.trim() || !configured) {
    const { zone, source } = resolveZone(flag, envZone, true);
    return { region: regionOfZone(zone, source), zone, source };
  }
  // The job store locator's check of AWS's region naming: ISO and sovereign regions are names too.
  if (regionNameProblem(configured.region) !== undefined)
    throw new UserInputError(
      'BAD_ZONE',
      `${configured.source}: '${configured.region}' is not a region like us-west-2`,
      { region: configured.region },
    );
  return configured;
}

/** The zone must be one its region lists. */
export function checkZoneInRegion(zone: string, source: string, regionZones: readonly string[]): void {
  const region = regionOfZone(zone, source);
  if (!regionZones.includes(zone))
    throw new UserInputError(
      'ZONE_OUTSIDE_REGION',
      `${source}: zone '${zone}' is not in region ${region} (its zones: ${regionZones.join(', ') || 'none'})`,
      { zone, region },
    );
}

/** What EC2 says of its regions and of the zones of the region it is asked in. */
export interface RegionsAndZones {
  /** Undefined when EC2 will not say: the region then goes unchecked. */
  regionNames(): Promise<readonly string[] | undefined>;
  zoneNames(): Promise<readonly string[]>;
}

/**
 * Where a cluster command was told to work must be a region EC2 has and, given a zone, one of that
 * region's zones, checked before anything is made or destroyed. A zone the region lacks was
 * otherwise taken for its region alone (destroy-cluster destroyed there without a word of it), and
 * a region that does not exist (`eu-west-9a`) failed later as a missing key pair, or as an
 * unreachable endpoint on AWS. EC2's own list is the authority, so a region newer than this code
 * is not refused.
 */
export async function checkClusterPlace(ec2: RegionsAndZones, place: ClusterPlace): Promise<void> {
  const { region, zone, source } = place;
  const regions = await ec2.regionNames();
  if (regions && !regions.includes(region)) {
    const prefix = `${region.split('-')[0]}-`;
    const near = regions.filter((r) => r.startsWith(prefix));
    const like = [...(near.length > 0 ? near : regions)].sort().join(', ');
    throw new UserInputError(
      'NO_SUCH_REGION',
      zone === undefined
        ? `${source}: '${region}' is not a region EC2 has (expected one it lists, like ${like})`
        : `${source}: zone '${zone}' is in no region EC2 has: there is no ${region} (expected a zone of a region it lists, like ${like})`,
      { region },
    );
  }
  if (zone !== undefined) checkZoneInRegion(zone, source, await ec2.zoneNames());
}

export interface NodeTypeSpec {
  readonly instanceType: string;
  readonly market: Market;
  /** Spot bid in dollars per hour (Toil's `type:bid`). */
  readonly bid?: number;
}

/** `--nodeTypes t2.medium,m5.large:0.05` (Toil's syntax: `:bid` makes a type spot). */
export function parseNodeTypes(text: string, source: string): NodeTypeSpec[] {
  const out: NodeTypeSpec[] = [];
  for (const [i, raw] of text.split(',').entries()) {
    const item = raw.trim();
    if (item === '')
      throw new UserInputError(
        'BAD_NODE_TYPES',
        `${source}: '${text}' has an empty node type (entry ${i + 1}): expected an instance type between the commas`,
      );
    const [type, bid, extra] = item.split(':');
    if (extra !== undefined || !type)
      throw new UserInputError('BAD_NODE_TYPES', `${source}: '${item}' should be TYPE or TYPE:BID`);
    // Toil's launch-cluster takes a class and launches an arbitrary one of its types (next(iter(set))):
    // refused, rather than a worker of a type the user did not choose.
    if (type.includes('/'))
      throw new UserInputError(
        'BAD_NODE_TYPES',
        `${source}: '${item}' is a class of interchangeable instance types (TYPE/TYPE[:BID]), which the scaler of an autoscaled run takes (toil run --nodeTypes, the leader config's scaler.nodeTypes), choosing among them as it launches; launch-cluster starts static workers of one type each: give one (e.g. ${type.split('/')[0]}${bid !== undefined ? `:${bid}` : ''})`,
      );
    if (bid === undefined) out.push({ instanceType: type, market: 'on-demand' });
    else {
      const n = decimalNumber(bid);
      if (!Number.isFinite(n) || n <= 0)
        throw new UserInputError(
          'BAD_NODE_TYPES',
          `${source}: spot bid '${bid}' of ${type} is not a positive price`,
        );
      out.push({ instanceType: type, market: 'spot', bid: n });
    }
  }
  return out;
}

/** `-w 3` or `-w 1,2` (one count per --nodeTypes entry); Kubernetes' MIN-MAX ranges are refused. */
export function parseWorkerCounts(text: string | undefined, types: number): number[] {
  if (text === undefined || text.trim() === '') return Array<number>(types).fill(0);
  const parts = text.split(',').map((x) => x.trim());
  const counts = parts.map((p) => {
    if (/^\d+-\d+$/.test(p))
      throw new UserInputError(
        'BAD_WORKERS',
        `-w/--workers: '${p}' is a range (Toil's autoscaled workers of a Kubernetes cluster, which toil-ts does not launch): give a number of static workers, and let a run's scaler (toil run --provisioner aws --maxNodes N) add workers as jobs need them`,
      );
    if (!/^\d+$/.test(p))
      throw new UserInputError('BAD_WORKERS', `-w/--workers: '${p}' is not a number of workers`);
    return Number(p);
  });
  if (counts.length !== types)
    throw new UserInputError(
      'BAD_WORKERS',
      `-w/--workers gives ${counts.length} count(s) but there are ${types} node type(s): give one count per --nodeTypes entry`,
    );
  return counts;
}

/**
 * `-t KEY=VALUE`, repeatable. Toil splits each at '=' into exactly two parts, so a second '=' is
 * refused as Toil refuses it, rather than made a tag Toil's own utilities would never make.
 */
export function parseTags(pairs: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const p of pairs) {
    const parts = p.split('=');
    if (parts.length !== 2)
      throw new UserInputError(
        'BAD_TAG',
        parts.length === 1
          ? `-t/--tag: '${p}' has no '=': expected KEY=VALUE (e.g. -t team=genomics)`
          : `-t/--tag: '${p}' has ${parts.length - 1} '=': expected KEY=VALUE with one '=', as Toil splits it (a value holding '=' can be given in TOIL_AWS_TAGS, read when no -t is given)`,
        { tag: p },
      );
    const [key = '', value = ''] = parts;
    if (key === '')
      throw new UserInputError(
        'BAD_TAG',
        `-t/--tag: '${p}' has an empty key: expected KEY=VALUE (e.g. -t team=genomics)`,
        { tag: p },
      );
    tags[key] = value;
  }
  // A tag toil sets itself would be dropped (or break the cluster): refused rather than ignored.
  for (const key of Object.keys(tags))
    if (RESERVED_TAG_KEYS.includes(key))
      throw new UserInputError(
        'BAD_TAG',
        `-t/--tag: '${key}' is a tag toil sets itself (clusterName: the cluster's name; ToilNodeType: leader or worker); use another key`,
      );
  return tags;
}

/** TOIL_AWS_TAGS: a JSON object of string values. */
export function parseTagsJson(text: string | undefined): Record<string, string> {
  if (!text?.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UserInputError(
      'BAD_TAG',
      `TOIL_AWS_TAGS: '${text}' is not JSON (expected an object like {"team": "x"})`,
    );
  }
  if (
    typeof v !== 'object' ||
    v === null ||
    Array.isArray(v) ||
    !Object.values(v).every((x) => typeof x === 'string')
  )
    throw new UserInputError('BAD_TAG', 'TOIL_AWS_TAGS: expected a JSON object of string values');
  // Not checked for toil's own keys: on a leader, Toil's TOIL_AWS_TAGS carries its clusterName.
  return v as Record<string, string>;
}

export function validateCidr(cidr: string): string {
  const [addr, bits, extra] = cidr.split('/');
  const family = isIP(addr ?? '');
  const n = Number(bits);
  if (
    extra !== undefined ||
    family === 0 ||
    bits === undefined ||
    !/^\d+$/.test(bits) ||
    n > (family === 4 ? 32 : 128)
  )
    throw new UserInputError('BAD_CIDR', `--sshCidr: '${cidr}' is not a CIDR block like 203.0.113.7/32`);
  return cidr;
}

/** --vpcSubnet: an EC2 subnet ID (`subnet-` and 8 or 17 hex digits), checked before the cloud is asked. */
export function validateSubnetId(id: string): string {
  const trimmed = id.trim();
  if (!/^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(trimmed))
    throw new UserInputError(
      'BAD_FLAG',
      `--vpcSubnet: '${id}' is not a subnet ID like subnet-0123456789abcdef0`,
      { subnetId: id },
    );
  return trimmed;
}

/**
 * --awsEc2ProfileArn: an instance profile's ARN (arn:aws:iam::ACCOUNT:instance-profile/[PATH/]NAME).
 * A role's ARN, the usual slip, is told apart: EC2 takes only the profile that holds the role.
 */
export function validateInstanceProfileArn(arn: string): { arn: string; name: string } {
  const trimmed = arn.trim();
  const m =
    /^arn:aws(?:-[a-z]+)*:iam::\d{12}:(instance-profile|role)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,128})$/.exec(
      trimmed,
    );
  if (m?.[1] === 'role')
    throw new UserInputError(
      'BAD_FLAG',
      `--awsEc2ProfileArn ${arn} is a role's ARN: give the ARN of the instance profile that holds the role (arn:aws:iam::ACCOUNT:instance-profile/NAME; aws iam list-instance-profiles-for-role --role-name ${m[2]})`,
      { arn },
    );
  if (!m)
    throw new UserInputError(
      'BAD_FLAG',
      `--awsEc2ProfileArn: '${arn}' is not an instance profile ARN like arn:aws:iam::123456789012:instance-profile/NAME`,
      { arn },
    );
  return { arn: trimmed, name: m[2]! };
}

/**
 * TOIL_AWS_AMI: an image ID as EC2 takes one (`ami-` and 8 or 17 lowercase hex digits), checked
 * before the cloud is asked: EC2 answers any other with InvalidAMIID.Malformed, which named neither
 * the variable nor the form.
 */
export function validateImageId(id: string, givenBy = 'TOIL_AWS_AMI'): string {
  if (!/^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(id))
    throw new UserInputError(
      'BAD_IMAGE_ID',
      `${givenBy}: '${id}' is not an image ID: expected ami- followed by 8 or 17 hex digits, like ami-0123456789abcdef0`,
      { imageId: id },
    );
  return id;
}

export function validateSecurityGroupId(id: string): string {
  const trimmed = id.trim();
  if (!/^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(trimmed))
    throw new UserInputError(
      'BAD_FLAG',
      `--awsEc2ExtraSecurityGroupId: '${id}' is not a security group ID like sg-0123456789abcdef0 (give the ID, not the name)`,
      { groupId: id },
    );
  return trimmed;
}

export function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1)
    throw new UserInputError('BAD_FLAG', `${flag}: '${value}' is not a positive whole number`);
  return n;
}

/** --leaderStorage, --nodeStorage: a root volume EC2 will make, refused here rather than at RunInstances. */
export function rootVolumeGiB(value: string, flag: string): number {
  const n = positiveInteger(value, flag);
  if (n > MAX_ROOT_VOLUME_GIB)
    throw new UserInputError(
      'BAD_FLAG',
      `${flag}: ${value} GiB is more than EC2 makes a root volume (${ROOT_VOLUME_TYPE}, the type of a node's root: at most ${MAX_ROOT_VOLUME_GIB} GiB, ${MAX_ROOT_VOLUME_GIB / 1024} TiB)`,
    );
  return n;
}

/**
 * launch-cluster's `--nodeStorageOverrides c5.large:80,r5.xlarge:200` (Toil's form): the root
 * volume of the workers of each type named, instead of --nodeStorage. As in Toil, each type must be
 * one the workers are of (`workerTypes`: --nodeTypes, else the type the leader's daemon scales).
 */
export function parseNodeStorageOverrides(
  text: string,
  workerTypes: readonly string[],
): Record<string, number> {
  const flag = '--nodeStorageOverrides';
  const out: Record<string, number> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const colon = entry.lastIndexOf(':');
    const type = entry.slice(0, colon).trim();
    if (colon <= 0 || type === '')
      throw new UserInputError(
        'BAD_FLAG',
        `${flag} ${text}: '${entry}' is not TYPE:GiB; expected entries like c5.large:80, separated by commas`,
      );
    if (!workerTypes.includes(type))
      throw new UserInputError(
        'BAD_FLAG',
        `${flag} ${text}: ${type} is not a type the workers are of (${workerTypes.join(', ') || 'none'}); as in Toil, an override names a type of --nodeTypes`,
      );
    out[type] = rootVolumeGiB(entry.slice(colon + 1).trim(), `${flag} ${type}`);
  }
  return out;
}
