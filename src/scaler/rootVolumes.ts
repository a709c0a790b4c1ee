import type { ScalerConfig } from './config.js';

/**
 * The root EBS volume, in GiB, every launch of an instance type of the node types asks for: its
 * `nodeStorageOverrides` entry, else `nodeStorage`, as Toil sizes every worker's root. For an
 * EBS-only type it is the disk the plan placed jobs by; an instance-store type's jobs use its
 * instance store, but its root is still the size the user gave (not a fixed default), so an image
 * whose root snapshot is larger can be booted by giving a larger one. Undefined for a type no node
 * type lists: the scaler launches none.
 */
export function rootVolumeOf(scaler: ScalerConfig, instanceType: string): number | undefined {
  if (!scaler.nodeTypes.some((nt) => nt.instanceTypes.some((it) => it.name === instanceType)))
    return undefined;
  return scaler.nodeStorageOverridesGiB[instanceType] ?? scaler.nodeStorageGiB;
}

/** A root volume the scaler launches, named as the user gave it (a flag, or a config path). */
export interface NamedRootVolume {
  readonly flag: string;
  readonly giB: number;
}

/** How a run names `nodeStorage` and a type's `nodeStorageOverrides` entry. */
export interface RootVolumeNames {
  readonly nodeStorage: string;
  readonly override: (instanceType: string) => string;
}

/** As `toil run` takes them: Toil's flags. */
export const ROOT_VOLUME_FLAGS: RootVolumeNames = {
  nodeStorage: '--nodeStorage',
  override: (type) => `--nodeStorageOverrides ${type}`,
};

/**
 * The root volume of each instance type of the node types, instance store or not, named by what
 * sized it: to check against the image's root snapshot before any is launched.
 */
export function workerRootVolumes(scaler: ScalerConfig, names: RootVolumeNames): NamedRootVolume[] {
  const types = [...new Set(scaler.nodeTypes.flatMap((nt) => nt.instanceTypes.map((it) => it.name)))];
  return types.map((type) => ({
    flag: rootVolumeSetting(scaler, type, names),
    giB: scaler.nodeStorageOverridesGiB[type] ?? scaler.nodeStorageGiB,
  }));
}

/** What sizes the root volume of an instance type: its `nodeStorageOverrides` entry, else `nodeStorage`. */
export function rootVolumeSetting(
  scaler: ScalerConfig,
  instanceType: string,
  names: RootVolumeNames,
): string {
  return scaler.nodeStorageOverridesGiB[instanceType] !== undefined
    ? names.override(instanceType)
    : names.nodeStorage;
}
