import { formatBytes } from '../common/units.js';
import type { ScalerConfig } from './config.js';
import type { JobClass } from './jobClasses.js';
import type { TypeTable } from './offerings.js';
import { archMatches, describeRequest, fitsResources } from './shapes.js';
import { rootVolumeGiBFor } from './overhead.js';
import type { InstanceType, Resources, UnschedulableJob } from './types.js';

/**
 * The classes no configured node type could ever run (regardless of limits, prices or spot
 * availability), each with the constraints that fail against the largest node type. Reported in
 * the plan at once, so the leader fails such jobs fast instead of waiting on them (Toil logs
 * JobTooBigError every cycle and hangs).
 */
export function findUnschedulable(
  classes: readonly JobClass[],
  config: ScalerConfig,
  types: TypeTable,
): UnschedulableJob[] {
  const out: UnschedulableJob[] = [];
  const odTypes = new Set<string>();
  for (const nt of config.nodeTypes)
    if (nt.capacityType === 'on-demand') for (const t of nt.instanceTypes) odTypes.add(t.name);
  const all = [...types.byName.values()];
  if (all.length === 0) return out;
  const largest = all.reduce((a, b) =>
    b.packable.memoryBytes > a.packable.memoryBytes ||
    (b.packable.memoryBytes === a.packable.memoryBytes && b.packable.cores > a.packable.cores)
      ? b
      : a,
  );
  for (const c of classes) {
    const r = c.request;
    const eligible = all.filter((e) => r.preemptable || odTypes.has(e.type.name));
    const holds = (e: (typeof all)[number]): boolean =>
      archMatches(r, e.type.architecture) && fitsResources(e.packable, r);
    if (eligible.some(holds)) continue;
    const constraints: string[] = [];
    const L = largest.packable;
    if (!r.preemptable && odTypes.size === 0)
      constraints.push('preemptable: the job is not preemptable and every configured node type is spot');
    else if (!r.preemptable) {
      // Big enough only as spot: no size is short, the market is.
      const spotOnly = all.filter(holds).map((e) => e.type.name);
      if (spotOnly.length > 0)
        constraints.push(
          `preemptable: the job is not preemptable, and only spot node types fit it (${spotOnly.join(', ')}); the on-demand ones are too small`,
        );
    }
    if (r.memoryBytes > L.memoryBytes)
      constraints.push(
        `memory: asks ${formatBytes(r.memoryBytes)}, ${largest.type.name} offers ${formatBytes(L.memoryBytes)} after overhead`,
      );
    const maxCores = Math.max(...all.map((e) => e.packable.cores));
    if (r.cores > maxCores)
      constraints.push(`cores: asks ${r.cores}, the most any node type offers is ${maxCores}`);
    const maxDisk = Math.max(...all.map((e) => e.packable.diskBytes));
    const root = r.diskBytes > maxDisk ? rootVolumeShort(all, maxDisk, r.diskBytes) : undefined;
    if (r.diskBytes > maxDisk)
      constraints.push(
        `disk: asks ${formatBytes(r.diskBytes)}, the most any node type offers is ${formatBytes(maxDisk)} after overhead` +
          (root?.note ?? ''),
      );
    const maxGpus = Math.max(...all.map((e) => e.packable.gpus ?? 0));
    if ((r.gpus ?? 0) > maxGpus)
      constraints.push(`gpus: asks ${r.gpus}, the most any node type offers is ${maxGpus}`);
    if (r.architecture && !all.some((e) => e.type.architecture === r.architecture))
      constraints.push(`architecture: asks ${r.architecture}, no configured node type has it`);
    if (constraints.length === 0)
      constraints.push('no single node type satisfies all of its requests at once');
    out.push({
      jobId: c.firstId,
      jobName: c.name,
      count: c.count,
      request: r,
      constraints,
      largestNodeType: largest.type.name,
      ...(root ? { rootVolume: root.rootVolume } : {}),
      message: `job '${c.name}' (${c.firstId}${c.count > 1 ? ` and ${c.count - 1} like it` : ''}) asks for ${describeRequest(r)}; no configured node type can run it (largest: ${largest.type.name}, ${describeRequest(L)} after overhead): ${constraints.join('; ')}`,
    });
  }
  return out;
}

/**
 * When the most disk comes from a root volume (an EBS-only type), what the overhead took of it
 * and the root volume that would give the job its disk: the volume is the user's to size. The
 * setting that sizes it is named by whoever words the refusal (a flag of `toil run`, a key of a
 * leader daemon's config file), from `rootVolume`.
 */
function rootVolumeShort(
  all: readonly { readonly type: InstanceType; readonly packable: Resources }[],
  maxDisk: number,
  askedBytes: number,
): { note: string; rootVolume: NonNullable<UnschedulableJob['rootVolume']> } | undefined {
  const root = all.find(
    (e) =>
      !e.type.instanceStore && e.packable.diskBytes === maxDisk && e.packable.diskBytes < e.type.diskBytes,
  );
  if (!root) return undefined;
  const volume = root.type.diskBytes;
  const neededGiB = rootVolumeGiBFor(askedBytes);
  return {
    note:
      ` (${root.type.name}'s ${formatBytes(volume)} root volume less ${formatBytes(volume - maxDisk)} ` +
      `for the OS, as Toil reserves it: 5 GB and 5 % of the volume; a root volume of ${neededGiB} GiB or more gives the job its disk)`,
    rootVolume: { instanceType: root.type.name, neededGiB },
  };
}
