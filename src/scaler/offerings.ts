import type { ScalerConfig } from './config.js';
import { packableResources } from './overhead.js';
import type {
  CapacityType,
  InstanceType,
  Offering,
  OfferingState,
  PriceSource,
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
 * `types` with the instance types of `nodes` that no node type lists (a static worker
 * launch-cluster chose, a type a reloaded config dropped), from the config's catalogue: what such
 * a node gives jobs, so its room is planned on. Only existing nodes are looked up in the result;
 * offerings and the unschedulable check keep to the configured types.
 */
export function withTypesOfNodes(
  types: TypeTable,
  config: ScalerConfig,
  nodes: readonly { readonly instanceType: string }[],
): TypeTable {
  const missing = nodes.filter((n) => !types.byName.has(n.instanceType));
  if (missing.length === 0 || !config.catalogueTypes) return types;
  const byName = new Map(types.byName);
  for (const n of missing) {
    const t = config.catalogueTypes[n.instanceType];
    if (t && !byName.has(t.name))
      byName.set(t.name, { type: t, packable: packableResources(t, config.assumeZeroOverhead) });
  }
  return { byName };
}

/**
 * Every offering the config allows (node type × instance type × zone), priced and marked
 * available or not at `snapshot.now`. A spot offering is priced at its observed price (the
 * snapshot's, from DescribeSpotPriceHistory), and is unusable while that price is above its bid
 * (Toil's `type:bid`) or, without a bid, above on-demand (what EC2 caps an unbid request at). A
 * price not yet observed never blocks: the offering is planned at its bid (what it may cost at
 * most), else at on-demand, and the launch lets EC2 decide.
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
        const { price, source, unavailableReason } = priceOffering(
          key,
          nt.capacityType === 'spot',
          nt.bid,
          t.onDemandPrice,
          obs,
          snapshot.now,
        );
        // A capacity backoff ends in this many seconds (the cost policy waits for spot back soon).
        // Not another backoff (nodes that never registered): capacity is there, nodes fail on it.
        const availableInSeconds =
          obs?.unavailableUntil !== undefined &&
          obs.unavailableUntil > snapshot.now &&
          obs.unavailableBecause === undefined
            ? (obs.unavailableUntil - snapshot.now) / 1000
            : undefined;
        out.push({
          key,
          instanceType: t.name,
          zone,
          capacityType: nt.capacityType,
          pricePerHour: price,
          priceSource: source,
          nodeTypeIndex: nt.index,
          available: unavailableReason === undefined,
          unavailableReason,
          ...(obs?.recentRefusals ? { recentRefusals: obs.recentRefusals } : {}),
          ...(availableInSeconds !== undefined ? { availableInSeconds } : {}),
        });
      }
    }
  }
  return out;
}

function priceOffering(
  key: string,
  spot: boolean,
  bid: number | undefined,
  onDemand: number,
  obs: OfferingState | undefined,
  now: number,
): { price: number; source: PriceSource; unavailableReason?: string } {
  const observedPrice = obs?.pricePerHour;
  const price = observedPrice ?? (spot && bid !== undefined ? Math.min(bid, onDemand) : onDemand);
  const source: PriceSource =
    observedPrice !== undefined ? 'observed' : spot && bid !== undefined ? 'bid' : 'on-demand';
  if (obs?.unavailableUntil !== undefined && obs.unavailableUntil > now)
    return {
      price,
      source,
      unavailableReason:
        obs.unavailableBecause ??
        `no capacity for ${key} until ${new Date(obs.unavailableUntil).toISOString()}`,
    };
  if (spot && observedPrice !== undefined) {
    if (bid !== undefined && observedPrice > bid)
      return {
        price,
        source,
        unavailableReason: `observed spot price $${observedPrice}/h for ${key} is above the bid $${bid}/h`,
      };
    if (bid === undefined && observedPrice > onDemand)
      return {
        price,
        source,
        unavailableReason: `observed spot price $${observedPrice}/h for ${key} is above on-demand $${onDemand}/h (the most spot pays without a bid)`,
      };
  }
  return { price, source };
}

/**
 * Whether an observed spot price keeps some configured spot offering unusable: above its bid,
 * or above on-demand without one (what priceOffering refuses it for).
 */
export function spotPricedOut(config: ScalerConfig, observed: readonly OfferingState[]): boolean {
  const price = new Map<string, number>();
  for (const o of observed)
    if (o.pricePerHour !== undefined)
      price.set(offeringKey(o.instanceType, o.zone, o.capacityType), o.pricePerHour);
  return config.nodeTypes.some(
    (nt) =>
      nt.capacityType === 'spot' &&
      nt.instanceTypes.some((t) =>
        config.zones.some(
          (zone) => (price.get(offeringKey(t.name, zone, 'spot')) ?? 0) > (nt.bid ?? t.onDemandPrice),
        ),
      ),
  );
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
