import { z } from 'zod';
import { ConfigError, deepFreeze, describeZodIssues, formatPath } from '../common/configErrors.js';
import { durationMs } from '../common/configTypes.js';
import { decimalNumber, usdPerHour } from '../common/units.js';
import { closestNames, type Catalogue } from './catalogue.js';
import { MAX_ROOT_VOLUME_GIB, ROOT_VOLUME_TYPE } from '../ports/provisioner.js';
import type { CapacityType, InstanceType, PolicyName } from './types.js';

const GiB = 2 ** 30;

/** One node type the scaler may launch: one or more interchangeable instance types, spot or not. */
export interface NodeTypeConfig {
  readonly index: number;
  /** As the user wrote it, e.g. "c5.large/c5a.large:0.05". */
  readonly label: string;
  readonly instanceTypes: readonly InstanceType[];
  readonly capacityType: CapacityType;
  /** Spot bid in USD/h (the offering is unusable while the market price is above it). */
  readonly bid?: number;
  readonly minNodes: number;
  readonly maxNodes: number;
}

/** The scaler section of the leader's config, validated, resolved against the catalogue, frozen. */
/**
 * What the `cost` policy trades when it cannot have both (docs/scaler.md, "Objective"): `cost`
 * never pays more per job than the cheapest offering that fits it and waits for cheap capacity
 * instead; `balanced` pays a small premium per job to start work within targetTime; `speed`
 * starts every job within targetTime on whatever offering has room, at any premium.
 */
export const OBJECTIVES = ['cost', 'balanced', 'speed'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export interface ScalerConfig {
  readonly policy: PolicyName;
  readonly objective: Objective;
  readonly region: string;
  readonly zones: readonly string[];
  readonly nodeTypes: readonly NodeTypeConfig[];
  /** Whole-cluster node cap (like cluster-autoscaler's --max-nodes-total); none when absent. */
  readonly maxTotalNodes?: number;
  readonly maxPreemptableNodes?: number;
  readonly maxHourlyCost?: number;
  readonly targetTimeSeconds: number;
  readonly betaInertia: number;
  readonly scaleIntervalSeconds: number;
  readonly preemptableCompensation: number;
  /** Expected time from launch to a registered agent. */
  readonly bootTimeSeconds: number;
  /** A node not registered this long after launch is replaced. */
  readonly bootTimeoutSeconds: number;
  /** An idle node is kept this long before it is drained (default max(bootTime, billingMinimum)). */
  readonly idleGraceSeconds: number;
  /** EC2 bills per second with this minimum. */
  readonly billingMinimumSeconds: number;
  /** Runtime assumed for a job whose name has no history and no declared walltime. */
  readonly unknownRuntimeSeconds: number;
  readonly assumeZeroOverhead: boolean;
  readonly retireStaticNodes: boolean;
  /**
   * Toil's `--nodeStorage` and `--nodeStorageOverrides`: the root EBS volume every worker of a type
   * is launched with, instance store or not (for an EBS-only type it is also the disk planned with).
   */
  readonly nodeStorageGiB: number;
  readonly nodeStorageOverridesGiB: Readonly<Record<string, number>>;
  /**
   * Every catalogue type as this config sees it (its overrides applied, its on-demand USD/h this
   * region's), by name: what a node of a type no node type lists (a static worker launch-cluster
   * chose) gives jobs and costs, so the cost policy plans work onto its room instead of launching
   * beside it. Absent from configs built by hand (the simulator's): such a node's price is then
   * unknown.
   */
  readonly catalogueTypes?: Readonly<Record<string, InstanceType>>;
  /**
   * The node types' instance types whose price here is the catalogue's us-east-1 list price (the
   * catalogue has no price for the region and the config's `instanceTypes:` gives none): their
   * costs are estimates. Absent when every price is the region's own.
   */
  readonly estimatedPrices?: {
    readonly region: string;
    readonly from: string;
    readonly types: readonly string[];
  };
}

/**
 * Where a price comes from when the catalogue has none for the region: relative prices between
 * types (what the policy chooses by) are close across regions, and spot prices are read live.
 */
export const ESTIMATE_PRICE_REGION = 'us-east-1';

/** The one warning line for a config whose prices are partly estimates; undefined when none are. */
export function estimatedPricesWarning(config: ScalerConfig): string | undefined {
  const e = config.estimatedPrices;
  if (!e) return undefined;
  return (
    `the instance catalogue has no on-demand price for region ${e.region}: ${e.types.join(', ')} ` +
    `priced at ${e.from}'s list price, so costs shown are estimates; for exact prices give ` +
    `scaler.instanceTypes.<type>.onDemandPrice (USD/h in ${e.region}) in the leader's config (docs/scaler.md)`
  );
}

/**
 * The node types the scaler may launch (maxNodes > 0), and the instance type of theirs with the
 * lowest on-demand price.
 */
function cheapestLaunchable(nodeTypes: readonly NodeTypeConfig[]): {
  launchable: NodeTypeConfig[];
  cheapest: InstanceType | undefined;
} {
  const launchable = nodeTypes.filter((n) => n.maxNodes > 0);
  let cheapest: InstanceType | undefined;
  for (const n of launchable)
    for (const t of n.instanceTypes) if (!cheapest || t.onDemandPrice < cheapest.onDemandPrice) cheapest = t;
  return { launchable, cheapest };
}

/**
 * The warning for a maxHourlyCost under every node type's on-demand price where some node type is
 * spot (all on-demand, parseScalerConfig refuses it): only spot nodes bought under it can start,
 * while the market allows. Undefined when the budget buys an on-demand node.
 */
export function maxHourlyCostWarning(config: ScalerConfig): string | undefined {
  const budget = config.maxHourlyCost;
  const { launchable, cheapest } = cheapestLaunchable(config.nodeTypes);
  if (budget === undefined || cheapest === undefined || cheapest.onDemandPrice <= budget) return undefined;
  const onDemandTypes = launchable.some((n) => n.capacityType === 'on-demand');
  return (
    `maxHourlyCost ${usdPerHour(budget)} is below the on-demand price of every node type ` +
    `(the cheapest, ${cheapest.name}, is ${usdPerHour(cheapest.onDemandPrice)}): the scaler can launch only ` +
    `spot nodes, while their market price is under it` +
    (onDemandTypes ? ', and work that is not preemptable never gets a node' : '')
  );
}

/**
 * What a job with no history and no declared walltime is assumed to take. Short on purpose: the
 * cost policy also assumes at least twice what the name's running jobs have run so far, so the
 * estimate doubles while jobs keep running (a doubling search: never more than a few ticks behind
 * a long job, and no fleet bought for a scatter of five-minute jobs on a 30-minute guess).
 */
export const DEFAULT_UNKNOWN_RUNTIME_SECONDS = 300;

/** A worker's root volume in GiB, instance store or not (Toil's `--nodeStorage` default). */
export const DEFAULT_NODE_STORAGE_GIB = 50;

/**
 * A worker's root volume in GiB: whole (EC2's VolumeSize, and Toil's int) and no larger than EC2
 * makes, so a launch is not refused on it.
 */
const rootVolume = z
  .number()
  .int()
  .positive()
  .max(MAX_ROOT_VOLUME_GIB, {
    error: () =>
      `expected at most ${MAX_ROOT_VOLUME_GIB} GiB (${MAX_ROOT_VOLUME_GIB / 1024} TiB, the largest ${ROOT_VOLUME_TYPE} volume EC2 makes; a node's root volume is ${ROOT_VOLUME_TYPE})`,
  });

/** Toil's `--nodeTypes` syntax: `c5.4xlarge/c5a.4xlarge:0.42,t2.large`. */
export interface ParsedNodeType {
  readonly instanceTypes: string[];
  readonly bid?: number;
}

/** Parses one comma-separated `--nodeTypes` value; returns problems instead of throwing. */
export function parseNodeTypesString(value: string): { nodeTypes: ParsedNodeType[]; problems: string[] } {
  const nodeTypes: ParsedNodeType[] = [];
  const problems: string[] = [];
  if (value.trim() === '') return { nodeTypes, problems };
  value.split(',').forEach((part, i) => {
    const pieces = part.trim().split(':');
    if (pieces.length > 2) {
      problems.push(`node type ${i + 1} ("${part}") has more than one bid`);
      return;
    }
    const types = (pieces[0] ?? '').split('/').map((s) => s.trim());
    if (types.some((t) => t === '')) {
      problems.push(`node type ${i + 1} ("${part}") has an empty instance type`);
      return;
    }
    if (pieces.length === 2) {
      const bidText = pieces[1]!.trim();
      const bid = decimalNumber(bidText);
      if (!Number.isFinite(bid)) {
        problems.push(`node type ${i + 1} ("${part}") has a bid that is not a number: "${bidText}"`);
        return;
      }
      if (bid < 0) {
        problems.push(`node type ${i + 1} ("${part}") has a negative bid`);
        return;
      }
      // EC2 takes no MaxPrice of 0, and no spot price is ever that low: the work would wait for ever.
      if (bid === 0) {
        problems.push(
          `node type ${i + 1} ("${part}") has a bid of 0: a bid is the most a spot node may cost per hour, in dollars (e.g. ${types.join('/')}:0.05)`,
        );
        return;
      }
      nodeTypes.push({ instanceTypes: types, bid });
    } else nodeTypes.push({ instanceTypes: types });
  });
  return { nodeTypes, problems };
}

const count = z.number().int().min(0);
const price = z.number().min(0);

/**
 * maxNodes / minNodes: one count for every node type, or one per node type, as a list or as Toil's
 * flag spells it (`--maxNodes 2,3`: the string "2,3").
 */
const perNodeTypeCounts = (minItems: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*\d+\s*(,\s*\d+\s*)*$/.test(v) ? v.split(',').map(Number) : v),
    z.union([count, z.array(count).min(minItems)], {
      error: () => 'expected a whole number >= 0, or one per node type: a list ([2, 3]) or Toil\'s "2,3"',
    }),
  );

const NodeTypeObject = z
  .object({
    /** "c5.large" or "c5.large/c5a.large" (interchangeable types), optionally with ":bid". */
    type: z.string().min(1),
    spot: z.boolean().optional(),
    /** USD/h; EC2 takes no MaxPrice of 0. */
    bid: z.number().positive().optional(),
    minNodes: count.optional(),
    maxNodes: count.optional(),
  })
  .strict();

const CatalogueOverride = z
  .object({
    cores: z.number().positive().optional(),
    memoryGiB: z.number().positive().optional(),
    instanceStoreGiB: z.number().min(0).optional(),
    architecture: z.enum(['x86_64', 'arm64']).optional(),
    gpus: z.number().int().min(0).optional(),
    onDemandPrice: price.optional(),
  })
  .strict();

const ScalerSchema = z
  .object({
    policy: z.enum(['cost', 'toil-classic']).default('cost'),
    objective: z.enum(OBJECTIVES).default('balanced'),
    region: z.string().min(1).default('us-east-1'),
    zones: z.array(z.string().min(1)).min(1).optional(),
    nodeTypes: z.union([z.string(), z.array(z.union([z.string(), NodeTypeObject]))], {
      error: (issue) =>
        issue.input === undefined
          ? 'required: the node types to scale, e.g. "c5.large,m5.large:0.05" (Toil\'s --nodeTypes; :BID means spot) or a list'
          : 'expected node types as Toil\'s --nodeTypes string ("c5.large,m5.large:0.05") or a list of types / {instanceType, …} entries',
    }),
    maxNodes: perNodeTypeCounts(1).default(10),
    minNodes: perNodeTypeCounts(0).default(0),
    maxTotalNodes: count.optional(),
    maxPreemptableNodes: count.optional(),
    maxHourlyCost: z.number().positive().optional(),
    targetTime: durationMs().default(1_800_000),
    betaInertia: z.number().min(0).max(0.9).default(0.1),
    scaleInterval: durationMs().default(60_000),
    preemptableCompensation: z.number().min(0).max(1).default(0),
    bootTime: durationMs().default(120_000),
    bootTimeout: durationMs().default(900_000),
    idleGrace: durationMs().optional(),
    billingMinimum: durationMs().default(60_000),
    unknownRuntime: durationMs().optional(),
    nodeStorage: rootVolume.default(DEFAULT_NODE_STORAGE_GIB),
    nodeStorageOverrides: z.record(z.string(), rootVolume).default({}),
    assumeZeroOverhead: z.boolean().default(false),
    retireStaticNodes: z.boolean().default(false),
    /** Per instance type corrections to the shipped catalogue (prices after discounts, new types). */
    instanceTypes: z.record(z.string(), CatalogueOverride).default({}),
  })
  .strict();

/** The keys a `scaler:` section takes (Toil's `preemptible` spellings too). */
export function scalerKeys(): ReadonlySet<string> {
  return new Set([...Object.keys(ScalerSchema.shape), ...Object.keys(SCALER_KEY_ALIASES)]);
}

/** Toil's `preemptible` spellings are accepted wherever `preemptable` is. */
export const SCALER_KEY_ALIASES: Readonly<Record<string, string>> = {
  maxPreemptibleNodes: 'maxPreemptableNodes',
  preemptibleCompensation: 'preemptableCompensation',
};

/** A zone of `region`: its name and a letter (us-west-2a), or a Local Zone's (us-west-2-lax-1a). */
export function zoneInRegion(zone: string, region: string): boolean {
  return zone.startsWith(region) && /^([a-z]|-[a-z0-9-]+)$/.test(zone.slice(region.length));
}

/**
 * A policy chosen by a flag rather than by the file's `policy:` (`toil simulate --policy`,
 * `--compare`): the config is checked for the policy that will run, and a limit that policy does
 * not honour is refused with `unhonouredLimit` (what follows the key's path), which names the flag.
 */
export interface PolicyChoice {
  readonly name: PolicyName;
  readonly unhonouredLimit: string;
}

/**
 * Validates the `scaler:` section of a config (a plain object: the leader parses YAML and flags)
 * against the instance catalogue. Every problem is reported at once, each with its path (min above
 * max, negative price, unknown instance type with a "did you mean", compensation outside [0, 1]…);
 * throws ConfigError. The result is frozen.
 */
export function parseScalerConfig(
  raw: unknown,
  catalogue: Catalogue,
  options: { source?: string; path?: readonly (string | number)[]; policy?: PolicyChoice } = {},
): ScalerConfig {
  const prefix = options.path ?? ['scaler'];
  const source = options.source ?? 'scaler config';
  const problems: string[] = [];
  const at = (p: readonly (string | number)[], msg: string): void => {
    problems.push(`${formatPath([...prefix, ...p])}: ${msg}`);
  };

  let input: unknown = raw;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const copy: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    for (const [alias, canonical] of Object.entries(SCALER_KEY_ALIASES)) {
      if (alias in copy) {
        if (canonical in copy) at([alias], `give either ${alias} or ${canonical}, not both`);
        else copy[canonical] = copy[alias];
        delete copy[alias];
      }
    }
    input = copy;
  }
  // With the input, a name outside a list is said with what was given (`got "fast"`).
  const parsed = ScalerSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    problems.push(...describeZodIssues(parsed.error.issues, prefix, ScalerSchema));
    throw new ConfigError(source, problems);
  }
  const c = parsed.data;
  // A zone of another region passed: EC2 then refuses every launch ("no subnet in zone …") and
  // the work waits for ever.
  (c.zones ?? []).forEach((zone, i) => {
    if (!zoneInRegion(zone, c.region))
      at(
        ['zones', i],
        `zone ${zone} is not in region ${c.region} (expected a zone of ${c.region}, like ${c.region}a, or set region to the zone's)`,
      );
  });

  // Catalogue with the config's overrides applied.
  const entryFor = (name: string): InstanceType | undefined => {
    const base = catalogue.types.get(name);
    const o = c.instanceTypes[name];
    if (!base && !o) return undefined;
    const memoryBytes = o?.memoryGiB !== undefined ? Math.round(o.memoryGiB * GiB) : base?.memoryBytes;
    const storeBytes =
      o?.instanceStoreGiB !== undefined
        ? Math.round(o.instanceStoreGiB * GiB)
        : (base?.instanceStoreBytes ?? 0);
    const onDemandPrice =
      o?.onDemandPrice ?? base?.onDemandPrice[c.region] ?? base?.onDemandPrice[ESTIMATE_PRICE_REGION];
    const cores = o?.cores ?? base?.cores;
    if (memoryBytes === undefined || cores === undefined || onDemandPrice === undefined) return undefined;
    const nodeStorage = c.nodeStorageOverrides[name] ?? c.nodeStorage;
    return {
      name,
      cores,
      memoryBytes,
      diskBytes: storeBytes > 0 ? storeBytes : Math.round(nodeStorage * GiB),
      instanceStore: storeBytes > 0,
      architecture: o?.architecture ?? base?.architecture ?? 'x86_64',
      gpus: o?.gpus ?? base?.gpus ?? 0,
      onDemandPrice,
    };
  };
  for (const [name, o] of Object.entries(c.instanceTypes)) {
    if (!catalogue.types.has(name) && (o.cores === undefined || o.memoryGiB === undefined))
      at(['instanceTypes', name], 'a type not in the catalogue needs at least cores and memoryGiB');
  }

  // Node types, in either spelling.
  const specs: {
    path: (string | number)[];
    typePath: (string | number)[];
    label: string;
    types: string[];
    bid?: number;
    spot: boolean;
    min?: number;
    max?: number;
  }[] = [];
  if (typeof c.nodeTypes === 'string') {
    const r = parseNodeTypesString(c.nodeTypes);
    for (const p of r.problems) at(['nodeTypes'], p);
    r.nodeTypes.forEach((nt) =>
      specs.push({
        path: ['nodeTypes'],
        typePath: ['nodeTypes'],
        label: labelOf(nt),
        types: nt.instanceTypes,
        bid: nt.bid,
        spot: nt.bid !== undefined,
      }),
    );
  } else {
    c.nodeTypes.forEach((entry, i) => {
      if (typeof entry === 'string') {
        // An empty string alone means "none" (Toil's flag unset); an empty item of a list is a slip.
        if (entry.trim() === '') at(['nodeTypes', i], 'an empty node type (expected e.g. "c5.large")');
        const r = parseNodeTypesString(entry);
        for (const p of r.problems) at(['nodeTypes', i], p);
        for (const nt of r.nodeTypes)
          specs.push({
            path: ['nodeTypes', i],
            typePath: ['nodeTypes', i],
            label: labelOf(nt),
            types: nt.instanceTypes,
            bid: nt.bid,
            spot: nt.bid !== undefined,
          });
      } else {
        const r = parseNodeTypesString(entry.type);
        for (const p of r.problems) at(['nodeTypes', i, 'type'], p);
        for (const nt of r.nodeTypes) {
          const bid = nt.bid ?? entry.bid;
          if (nt.bid !== undefined && entry.bid !== undefined)
            at(['nodeTypes', i, 'bid'], 'the bid is given twice');
          if (entry.spot === false && bid !== undefined)
            at(['nodeTypes', i, 'spot'], 'spot: false contradicts the bid');
          specs.push({
            path: ['nodeTypes', i],
            typePath: ['nodeTypes', i, 'type'],
            label:
              entry.spot && bid === undefined
                ? `${nt.instanceTypes.join('/')}:spot`
                : labelOf({ ...nt, bid }),
            types: nt.instanceTypes,
            bid,
            spot: entry.spot === true || bid !== undefined,
            min: entry.minNodes,
            max: entry.maxNodes,
          });
        }
      }
    });
  }
  if (specs.length === 0 && problems.length === 0) at(['nodeTypes'], 'at least one node type is needed');

  const maxList = Array.isArray(c.maxNodes) ? c.maxNodes : [c.maxNodes];
  const minList = Array.isArray(c.minNodes) ? c.minNodes : null;
  if (maxList.length > Math.max(1, specs.length))
    at(['maxNodes'], `${maxList.length} values for ${specs.length} node types`);
  if (minList && minList.length > specs.length)
    at(['minNodes'], `${minList.length} values for ${specs.length} node types`);

  const isEstimate = (name: string): boolean =>
    c.instanceTypes[name]?.onDemandPrice === undefined &&
    catalogue.types.get(name)?.onDemandPrice[c.region] === undefined;
  const nodeTypes: NodeTypeConfig[] = specs.map((s, index) => {
    const instanceTypes: InstanceType[] = [];
    s.types.forEach((name, j) => {
      const t = entryFor(name);
      if (t) instanceTypes.push(t);
      else if (catalogue.types.has(name) || c.instanceTypes[name])
        at(s.path, `instance type ${name} has no on-demand price for region ${c.region}`);
      else {
        const hints = closestNames(name, catalogue.types.keys());
        at(
          s.typePath,
          `unknown instance type "${name}"${hints.length ? ` (did you mean ${hints.join(', ')}?)` : ''}` +
            (s.types.length > 1 ? ` (item ${j + 1} of "${s.label}")` : ''),
        );
      }
    });
    // Toil's list semantics: maxNodes padded with its first value, minNodes with 0 (here by node type, not by sorted shape).
    const maxNodes = s.max ?? maxList[index] ?? maxList[0]!;
    const minNodes = s.min ?? (minList ? (minList[index] ?? 0) : (c.minNodes as number));
    if (minNodes > maxNodes)
      at(
        s.max !== undefined || s.min !== undefined ? [...s.path, 'minNodes'] : ['minNodes'],
        `minNodes ${minNodes} is more than maxNodes ${maxNodes} for node type ${s.label}`,
      );
    return {
      index,
      label: s.label,
      instanceTypes,
      capacityType: s.spot ? 'spot' : 'on-demand',
      bid: s.bid,
      minNodes,
      maxNodes,
    };
  });
  if (nodeTypes.length > 0 && nodeTypes.every((n) => n.maxNodes === 0))
    at(['maxNodes'], 'every node type has maxNodes 0: the scaler could never launch anything');
  // A budget under every node the scaler may launch starts nothing, for ever. A spot node may cost
  // less than its on-demand price, so with spot types it is a warning (maxHourlyCostWarning).
  const { launchable, cheapest: cheapestOnDemand } = cheapestLaunchable(nodeTypes);
  if (
    c.maxHourlyCost !== undefined &&
    cheapestOnDemand !== undefined &&
    launchable.every((n) => n.capacityType === 'on-demand') &&
    cheapestOnDemand.onDemandPrice > c.maxHourlyCost
  )
    at(
      ['maxHourlyCost'],
      `${usdPerHour(c.maxHourlyCost)} is below the cheapest node the scaler may launch ` +
        `(${cheapestOnDemand.name} at ${usdPerHour(cheapestOnDemand.onDemandPrice)}): it could never launch one; ` +
        `raise it, or add a cheaper node type`,
    );
  if (c.maxTotalNodes !== undefined) {
    const minSum = nodeTypes.reduce((s, n) => s + n.minNodes, 0);
    if (minSum > c.maxTotalNodes)
      at(['maxTotalNodes'], `${c.maxTotalNodes} is below the sum of minNodes (${minSum})`);
  }
  // toil-classic is Toil's algorithm, which has none of these limits: set, they would be ignored
  // and the cluster billed past them (and a comparison with the cost policy, which keeps them,
  // would compare different limits). The policy that runs decides, whoever chose it.
  const policy = options.policy?.name ?? c.policy;
  if (policy === 'toil-classic')
    for (const key of ['maxPreemptableNodes', 'maxTotalNodes', 'maxHourlyCost'] as const)
      if (c[key] !== undefined)
        at(
          [key],
          options.policy?.unhonouredLimit ??
            `policy toil-classic does not honour it (Toil has no such limit); remove it, or use policy cost`,
        );
  if (c.bootTimeout <= c.bootTime)
    at(['bootTimeout'], `must be longer than bootTime (${c.bootTime / 1000}s)`);
  if (c.scaleInterval <= 0) at(['scaleInterval'], 'must be more than 0');
  for (const name of Object.keys(c.nodeStorageOverrides))
    if (!specs.some((s) => s.types.includes(name)))
      at(['nodeStorageOverrides', name], `${name} is not one of the node types`);

  if (problems.length > 0) throw new ConfigError(source, problems);

  const estimated = [
    ...new Set(nodeTypes.flatMap((n) => n.instanceTypes.map((t) => t.name).filter(isEstimate))),
  ];
  return deepFreeze({
    policy,
    objective: c.objective,
    region: c.region,
    zones: c.zones ?? [`${c.region}a`],
    nodeTypes,
    maxTotalNodes: c.maxTotalNodes,
    maxPreemptableNodes: c.maxPreemptableNodes,
    maxHourlyCost: c.maxHourlyCost,
    targetTimeSeconds: c.targetTime / 1000,
    betaInertia: c.betaInertia,
    scaleIntervalSeconds: c.scaleInterval / 1000,
    preemptableCompensation: c.preemptableCompensation,
    bootTimeSeconds: c.bootTime / 1000,
    bootTimeoutSeconds: c.bootTimeout / 1000,
    // 0: an idle node no queued job needs retires at the first tick, as Toil's does. Keeping it
    // as long as a relaunch would waste (ski rental, max(boot, billing minimum) = 2 m) bounds the
    // loss when demand comes back to it, but on the corpus it rarely does: every idle node at a
    // burst's end, and one warm node kept at a time, cost more than the relaunches they saved
    // (docs/scaler.md, "Idle nodes retire at once"). A workflow whose gaps are known sets it.
    idleGraceSeconds: (c.idleGrace ?? 0) / 1000,
    billingMinimumSeconds: c.billingMinimum / 1000,
    unknownRuntimeSeconds:
      c.unknownRuntime !== undefined ? c.unknownRuntime / 1000 : DEFAULT_UNKNOWN_RUNTIME_SECONDS,
    assumeZeroOverhead: c.assumeZeroOverhead,
    retireStaticNodes: c.retireStaticNodes,
    nodeStorageGiB: c.nodeStorage,
    nodeStorageOverridesGiB: c.nodeStorageOverrides,
    catalogueTypes: Object.fromEntries(
      [...new Set([...catalogue.types.keys(), ...Object.keys(c.instanceTypes)])].flatMap((name) => {
        const type = entryFor(name);
        return type === undefined ? [] : [[name, type] as const];
      }),
    ),
    ...(estimated.length > 0
      ? { estimatedPrices: { region: c.region, from: ESTIMATE_PRICE_REGION, types: estimated } }
      : {}),
  });
}

function labelOf(nt: ParsedNodeType): string {
  return nt.bid === undefined ? nt.instanceTypes.join('/') : `${nt.instanceTypes.join('/')}:${nt.bid}`;
}
