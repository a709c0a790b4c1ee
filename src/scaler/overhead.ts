import type { InstanceType, Resources } from './types.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Toil under-reports node memory by 0.1 GiB "so scaler and Mesos agree" (toil.md §1.3). */
export const NOMINAL_MEMORY_CUT_BYTES = 0.1 * GiB;

const EVICTION_THRESHOLD = 100 * MiB;
const SMALL_NODE_LIMIT = GiB;
const SMALL_NODE_RESERVE = 255 * MiB;
/** GKE's progressive reserve: 25 % of the first 4 GiB, 20 % of the next 4, 10 % up to 16, 6 % up to 128, 2 % above. */
const BANDS: readonly (readonly [number, number])[] = [
  [4 * GiB, 0.25],
  [8 * GiB, 0.2],
  [16 * GiB, 0.1],
  [128 * GiB, 0.06],
  [Infinity, 0.02],
];
/**
 * Disk the OS and the appliance image are assumed to take on any node: Toil's OS_SIZE,
 * human2bytes("5G"), which is decimal (5 × 1000³ bytes), not 5 GiB.
 */
export const OS_DISK_BYTES = 5 * 1000 ** 3;
/** The share of a node's disk also set aside (Toil: a possible superuser reservation). */
const RESERVED_DISK_FRACTION = 0.05;

/**
 * Memory the agent will not offer on a node with `memoryBytes` (Toil's `_gke_overhead`): the
 * kernel, the Mesos agent and the appliance need some, and planning on nominal memory made Toil
 * launch nodes whose agents could never take the job (#2103, #4162).
 */
export function memoryOverheadBytes(memoryBytes: number): number {
  if (memoryBytes < SMALL_NODE_LIMIT) return SMALL_NODE_RESERVE;
  let reserved = 0;
  let accounted = 0;
  for (const [limit, fraction] of BANDS) {
    const upTo = Math.min(limit, memoryBytes);
    reserved += fraction * (upTo - accounted);
    accounted = upTo;
    if (accounted >= memoryBytes) break;
  }
  return Math.floor(reserved) + EVICTION_THRESHOLD;
}

/** Disk taken by the OS and images: 5 GB + 5 %, or all of it on a disk smaller than that (Toil's `_disk_overhead`). */
export function diskOverheadBytes(diskBytes: number): number {
  const needed = OS_DISK_BYTES + Math.floor(RESERVED_DISK_FRACTION * diskBytes);
  return diskBytes <= needed ? diskBytes : needed;
}

/** The smallest root volume, in whole GiB (as --nodeStorage takes it), that leaves `diskBytes` for jobs. */
export function rootVolumeGiBFor(diskBytes: number): number {
  let gib = Math.max(1, Math.ceil((diskBytes + OS_DISK_BYTES) / ((1 - RESERVED_DISK_FRACTION) * GiB)) - 1);
  while (gib * GiB - diskOverheadBytes(gib * GiB) < diskBytes) gib++;
  return gib;
}

/**
 * What a node of this type can give jobs: Toil's node shape (memory less 0.1 GiB) with the
 * overhead reserved, unless `assumeZeroOverhead` (Toil's `--assumeZeroOverhead`).
 */
export function packableResources(type: InstanceType, assumeZeroOverhead: boolean): Resources {
  const memory = type.memoryBytes - NOMINAL_MEMORY_CUT_BYTES;
  if (assumeZeroOverhead)
    return { cores: type.cores, memoryBytes: memory, diskBytes: type.diskBytes, gpus: type.gpus };
  return reserveOverhead({
    cores: type.cores,
    memoryBytes: memory,
    diskBytes: type.diskBytes,
    gpus: type.gpus,
  });
}

/** A raw shape with Toil's memory and disk overhead taken off (cores are not reserved). */
export function reserveOverhead(shape: Resources): Resources {
  return {
    cores: shape.cores,
    memoryBytes: shape.memoryBytes - memoryOverheadBytes(shape.memoryBytes),
    diskBytes: shape.diskBytes - diskOverheadBytes(shape.diskBytes),
    gpus: shape.gpus ?? 0,
  };
}

/**
 * The most of each resource a job may ask and still fit a node the scaler may launch (each
 * resource on its own, after overhead), or undefined with no type it may launch. A batch system
 * knows only the nodes registered so far: on an autoscaled cluster a job bigger than all of them
 * waits for a bigger type, it is not too big for the cluster.
 */
export function largestLaunchable(config: {
  readonly nodeTypes: readonly {
    readonly instanceTypes: readonly InstanceType[];
    readonly maxNodes: number;
  }[];
  readonly assumeZeroOverhead: boolean;
}): Resources | undefined {
  const shapes = config.nodeTypes
    .filter((nt) => nt.maxNodes > 0)
    .flatMap((nt) => nt.instanceTypes.map((it) => packableResources(it, config.assumeZeroOverhead)));
  if (shapes.length === 0) return undefined;
  return {
    cores: Math.max(...shapes.map((s) => s.cores)),
    memoryBytes: Math.max(...shapes.map((s) => s.memoryBytes)),
    diskBytes: Math.max(...shapes.map((s) => s.diskBytes)),
  };
}
