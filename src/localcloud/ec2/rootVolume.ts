import { Ec2ApiError } from './ec2Cloud.js';

/**
 * The root volume sizes EC2 makes at RunInstances, per EBS volume type (GiB; the EC2 API
 * reference's EbsBlockDevice.VolumeSize: gp3 and io2 grew to 64 TiB in 2025). A mapping that names
 * no type gets gp2, as on EC2.
 */
const SIZES_GIB: Readonly<Record<string, { min: number; max: number }>> = {
  gp2: { min: 1, max: 16_384 },
  gp3: { min: 1, max: 65_536 },
  io1: { min: 4, max: 16_384 },
  io2: { min: 4, max: 65_536 },
  st1: { min: 125, max: 16_384 },
  sc1: { min: 125, max: 16_384 },
  standard: { min: 1, max: 1_024 },
};

/** The image's root snapshot, which the root volume is made from. */
export interface RootSnapshot {
  readonly snapshotId: string;
  readonly sizeGiB: number;
}

/**
 * What EC2 answers for a root volume it does not make: a type it does not know
 * (InvalidParameterValue), a size over the type's largest or under its smallest
 * (InvalidParameterCombination), smaller than the image's snapshot (InvalidBlockDeviceMapping).
 */
export function checkRootVolume(
  sizeGiB: number | undefined,
  type: string | undefined,
  image: RootSnapshot,
): void {
  const volumeType = type ?? 'gp2';
  const sizes = SIZES_GIB[volumeType];
  if (!sizes)
    throw new Ec2ApiError(
      'InvalidParameterValue',
      `Value (${volumeType}) for parameter volumeType is invalid.`,
    );
  if (sizeGiB === undefined) return;
  if (!Number.isInteger(sizeGiB) || sizeGiB > sizes.max || sizeGiB < sizes.min)
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      `Could not create volume with size ${sizeGiB}GiB and type ${volumeType} from snapshot '${image.snapshotId}': ${volumeType} volumes are ${sizes.min} to ${sizes.max} GiB`,
    );
  if (sizeGiB < image.sizeGiB)
    throw new Ec2ApiError(
      'InvalidBlockDeviceMapping',
      `Volume of size ${sizeGiB}GB is smaller than snapshot '${image.snapshotId}', expect size >= ${image.sizeGiB}GB`,
    );
}
