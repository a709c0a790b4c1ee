import type { ScalerConfig } from '../config.js';
import type { CapacityType } from '../types.js';
import { priceOf } from './act.js';

/**
 * Where a node's $/h came from, so a price that is an estimate or missing reads as one:
 * `launched` — what this leader priced it at when it launched it;
 * `config` — the configured node types (as a launch of that type would be priced);
 * `spot-market` — the spot price observed for its type and zone;
 * `on-demand` — the catalogue's on-demand price in the region (for a spot node no spot price is
 *   observed for, an upper bound: spot never bills above on-demand);
 * `unknown` — a type the catalogue does not have: its $/h is shown as unknown and counts as 0.
 */
export type PriceSource = 'launched' | 'config' | 'spot-market' | 'on-demand' | 'unknown';

export interface NodePrice {
  readonly pricePerHour: number;
  readonly priceSource: PriceSource;
}

/** An observed spot price, as the spot price feed keeps it. */
export interface SpotQuote {
  readonly instanceType: string;
  readonly zone: string;
  readonly price: number;
}

/**
 * The hourly price of a node this leader did not launch (a `launch-cluster --workers` node, say):
 * for a spot node the spot price observed for its type and zone, else the configured node types'
 * price when its type is one of them, else the catalogue's on-demand price. Never a silent 0: a
 * type priced nowhere is `unknown`. The policy never sees these prices (it plans static nodes as
 * capacity, not cost).
 */
export function priceOfNode(
  scaler: ScalerConfig,
  node: { readonly instanceType: string; readonly zone: string; readonly capacityType: CapacityType },
  spot: readonly SpotQuote[] = [],
): NodePrice {
  if (node.capacityType === 'spot') {
    const quote = spot.find((q) => q.instanceType === node.instanceType && q.zone === node.zone);
    if (quote) return { pricePerHour: quote.price, priceSource: 'spot-market' };
  }
  if (scaler.nodeTypes.some((nt) => nt.instanceTypes.some((t) => t.name === node.instanceType)))
    return { pricePerHour: priceOf(scaler, node.instanceType, node.capacityType), priceSource: 'config' };
  const onDemand = scaler.catalogueTypes?.[node.instanceType]?.onDemandPrice;
  return onDemand !== undefined
    ? { pricePerHour: onDemand, priceSource: 'on-demand' }
    : { pricePerHour: 0, priceSource: 'unknown' };
}
