import { readFileSync } from 'node:fs';
import { shippedCataloguePath } from '../../common/shippedCatalogue.js';
import { AWS_REGIONS } from '../../common/awsRegions.js';
/**
 * What the local region sells: instance types (shapes and list prices), zones, and the one machine
 * image it boots. Prices are us-west-2 Linux on-demand list prices; spot prices move around a
 * fraction of them, per zone (spotMarket.ts).
 */
export interface InstanceTypeSpec {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly onDemandPrice: number;
  /** Instance-store disks, GiB each (0 = EBS only). */
  readonly instanceStoreGiB: number;
  readonly instanceStoreDisks: number;
  readonly architecture: 'x86_64' | 'arm64';
}

function t(
  name: string,
  vcpus: number,
  memoryGiB: number,
  onDemandPrice: number,
  store: [number, number] = [0, 0],
  architecture: 'x86_64' | 'arm64' = 'x86_64',
): InstanceTypeSpec {
  return {
    name,
    vcpus,
    memoryMiB: Math.round(memoryGiB * 1024),
    onDemandPrice,
    instanceStoreDisks: store[0],
    instanceStoreGiB: store[1],
    architecture,
  };
}

const HAND_LISTED_TYPES: readonly InstanceTypeSpec[] = [
  t('t2.micro', 1, 1, 0.0116),
  t('t2.small', 1, 2, 0.023),
  t('t2.medium', 2, 4, 0.0464),
  t('t2.large', 2, 8, 0.0928),
  t('t2.xlarge', 4, 16, 0.1856),
  t('t3.medium', 2, 4, 0.0416),
  t('t3.large', 2, 8, 0.0832),
  t('c3.large', 2, 3.75, 0.105, [2, 16]),
  t('c5.large', 2, 4, 0.085),
  t('c5.xlarge', 4, 8, 0.17),
  t('c5.2xlarge', 8, 16, 0.34),
  t('c5.4xlarge', 16, 32, 0.68),
  t('m5.large', 2, 8, 0.096),
  t('m5.xlarge', 4, 16, 0.192),
  t('m5.2xlarge', 8, 32, 0.384),
  t('m5.4xlarge', 16, 64, 0.768),
  t('m5a.large', 2, 8, 0.086),
  t('m5a.xlarge', 4, 16, 0.172),
  t('m5a.2xlarge', 8, 32, 0.344),
  t('r5.large', 2, 16, 0.126),
  t('r5.xlarge', 4, 32, 0.252),
  t('r5.2xlarge', 8, 64, 0.504),
  t('r5.4xlarge', 16, 128, 1.008),
  t('i3.large', 2, 15.25, 0.156, [1, 475]),
  t('i3.xlarge', 4, 30.5, 0.312, [1, 950]),
  t('m6g.large', 2, 8, 0.077, [0, 0], 'arm64'),
];

/**
 * The rest of the types a user may name (the leader's catalogue, config/instances.json), sold here
 * too, at their us-west-2 list price: a type the leader plans with but the local region did not
 * sell failed its launches and hid its spot price. Instance store comes as one disk.
 */
function leaderCatalogueTypes(sold: ReadonlySet<string>): InstanceTypeSpec[] {
  const file = JSON.parse(readFileSync(shippedCataloguePath(), 'utf8')) as {
    instanceTypes: Record<
      string,
      {
        cores: number;
        memoryGiB: number;
        instanceStoreGiB: number;
        architecture: 'x86_64' | 'arm64';
        onDemandPrice: Record<string, number>;
      }
    >;
  };
  return Object.entries(file.instanceTypes)
    .filter(([name, e]) => !sold.has(name) && e.onDemandPrice['us-west-2'] !== undefined)
    .map(([name, e]) =>
      t(
        name,
        e.cores,
        e.memoryGiB,
        e.onDemandPrice['us-west-2']!,
        e.instanceStoreGiB > 0 ? [1, e.instanceStoreGiB] : [0, 0],
        e.architecture,
      ),
    );
}

export const INSTANCE_TYPES: readonly InstanceTypeSpec[] = [
  ...HAND_LISTED_TYPES,
  ...leaderCatalogueTypes(new Set(HAND_LISTED_TYPES.map((x) => x.name))),
];

export const INSTANCE_TYPES_BY_NAME: ReadonlyMap<string, InstanceTypeSpec> = new Map(
  INSTANCE_TYPES.map((x) => [x.name, x]),
);

/** A stable 32-bit hash, so derived prices and ids are the same on every run. */
export function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** The machine image the local region offers: Flatcar stable, as Toil boots. */
export const LOCAL_IMAGE = {
  imageId: 'ami-0f1a7ca7000000001',
  name: 'Flatcar-stable-4152.2.3-hvm',
  ownerId: '075585003325',
  architecture: 'x86_64',
  creationDate: '2026-01-15T00:00:00.000Z',
  /** Its root snapshot (a Flatcar AMI's is 8 GiB): a root volume is made from it, no smaller. */
  rootSnapshot: { snapshotId: 'snap-0f1a7ca7000000001', sizeGiB: 8 },
} as const;

export const ACCOUNT_ID = '123456789012';

/**
 * The regions EC2 lists (DescribeRegions), by partition: a call is answered with its own
 * partition's, as EC2 answers. The local cloud answers a call signed for any region, which EC2
 * cannot (a region that does not exist has no endpoint): this list is what says a region is real.
 */
export function regionsOfPartition(region: string): readonly string[] {
  if (region.startsWith('us-gov-')) return ['us-gov-east-1', 'us-gov-west-1'];
  if (region.startsWith('cn-')) return ['cn-north-1', 'cn-northwest-1'];
  return AWS_REGIONS;
}

export function zonesOf(region: string, letters: string): string[] {
  return letters.split('').map((l) => `${region}${l}`);
}

/** `usw2-az1` style zone ids. */
export function zoneId(region: string, index: number): string {
  const parts = region.split('-');
  const short = `${parts[0] ?? ''}${(parts[1] ?? '').replace(/[aeiou]/g, '').slice(0, 1)}${parts[2] ?? ''}`;
  return `${short}-az${index + 1}`;
}
