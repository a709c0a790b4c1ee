import type { ScalerConfig } from './config.js';
import { packableResources } from './overhead.js';
import type {
  CapacityType,
  InstanceType,
  Offering,
  OfferingState,
  Resources,
  ScalingSnapshot,
} from './types.js';

export function offeringKey(instanceType: string, zone: string, capacityType: CapacityType): string {
  return `${instanceType}/${zone}/${capacityType}`;
}

/** Configured instance types by name, with what each can give jobs after overhead. */
export interface TypeTable {
  readonly byName: ReadonlyMap<string, { readonly type: InstanceType; readonly packable: Resources }>;
}

export function typeTable(config: ScalerConfig): TypeTable {
  const byName = new Map<string, { type: InstanceType; packable: Resources }>();
  for (const nt of config.nodeTypes)
    for (const t of nt.instanceTypes)
      if (!byName.has(t.name))
        byName.set(t.name, { type: t, packable: packableResources(t, config.assumeZeroOverhead) });
  return { byName };
}

/**
 * Every offering the config allows (node type × instance type × zone), priced and marked
 * available or not at `snapshot.now`. Spot prices come from the snapshot; until the provisioner
 * has one, spot is priced like on-demand (as Karpenter does), which never makes spot look cheaper
 * than it is.
 */
export function buildOfferings(config: ScalerConfig, snapshot: ScalingSnapshot): Offering[] {
  const observed = new Map<string, OfferingState>();
  for (const o of snapshot.offerings ?? [])
    observed.set(offeringKey(o.instanceType, o.zone, o.capacityType), o);
  const out: Offering[] = [];
  const seen = new Set<string>();
  for (const nt of config.nodeTypes) {
    for (const t of nt.instanceTypes) {
      for (const zone of config.zones) {
        const key = offeringKey(t.name, zone, nt.capacityType);
        if (seen.has(key)) continue;
        seen.add(key);
        const obs = observed.get(key);
        const price = obs?.pricePerHour ?? t.onDemandPrice;
        let unavailableReason: string | undefined;
        if (obs?.unavailableUntil !== undefined && obs.unavailableUntil > snapshot.now)
          unavailableReason = `no capacity for ${key} until ${new Date(obs.unavailableUntil).toISOString()}`;
        else if (nt.bid !== undefined && price > nt.bid)
          unavailableReason = `spot price $${price}/h for ${key} is above the bid $${nt.bid}/h`;
        out.push({
          key,
          instanceType: t.name,
          zone,
          capacityType: nt.capacityType,
          pricePerHour: price,
          nodeTypeIndex: nt.index,
          available: unavailableReason === undefined,
          unavailableReason,
        });
      }
    }
  }
  return out;
}

/** The configured node type an existing node counts against (limits are per node type). */
export function nodeTypeIndexOf(
  config: ScalerConfig,
  instanceType: string,
  capacityType: CapacityType,
): number | undefined {
  for (const nt of config.nodeTypes)
    if (nt.capacityType === capacityType && nt.instanceTypes.some((t) => t.name === instanceType))
      return nt.index;
  return undefined;
}
