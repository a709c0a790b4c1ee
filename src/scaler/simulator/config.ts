import { z } from 'zod';
import { ConfigError, deepFreeze, describeZodIssues } from '../../common/configErrors.js';
import { durationMs } from '../../common/configTypes.js';
import { closestNames, type Catalogue } from '../catalogue.js';
import { parseScalerConfig, scalerKeys, type PolicyChoice, type ScalerConfig } from '../config.js';

export interface CapacityRefusal {
  readonly instanceType?: string;
  readonly zone?: string;
  readonly capacityType?: 'spot' | 'on-demand';
  /** Seconds from the start of the simulation. */
  readonly fromSeconds: number;
  readonly untilSeconds: number;
}

/** How the simulated cloud behaves (the scaler only sees its effects). */
export interface SimulationConfig {
  readonly bootSeconds: number;
  readonly bootJitterSeconds: number;
  /** Spot interruptions per spot node-hour. */
  readonly spotInterruptionRate: number;
  /** Fraction of launched nodes that never register. */
  readonly bootFailureRate: number;
  readonly capacityRefusals: readonly CapacityRefusal[];
  /** How long the provisioner marks a refused offering unavailable. */
  readonly unavailableSeconds: number;
  /** Spot price per instance type (or "type/zone"); others pay `spotPriceRatio` × on-demand. */
  readonly spotPrices: Readonly<Record<string, number>>;
  readonly spotPriceRatio: number;
  /**
   * The leader's `--preemptableRetries` (default 3): a job lost with its spot node more times runs
   * on on-demand from then on (Infinity: `--enableUnlimitedPreemptibleRetries`).
   */
  readonly preemptableRetries: number;
  readonly maxSeconds: number;
  readonly seed: number;
}

const RefusalSchema = z
  .object({
    instanceType: z.string().optional(),
    zone: z.string().optional(),
    capacityType: z.enum(['spot', 'on-demand']).optional(),
    from: durationMs().default(0),
    until: durationMs(),
  })
  .strict();

const SimulationSchema = z
  .object({
    bootTime: durationMs().default(120_000),
    bootJitter: durationMs().default(30_000),
    spotInterruptionRate: z.number().min(0).default(0),
    bootFailureRate: z.number().min(0).max(1).default(0),
    capacityRefusals: z.array(RefusalSchema).default([]),
    unavailableFor: durationMs().default(180_000),
    zones: z.array(z.string().min(1)).min(1).optional(),
    spotPrices: z.record(z.string(), z.number().min(0)).default({}),
    spotPriceRatio: z.number().positive().max(1).default(0.35),
    preemptableRetries: z.union([z.number().int().min(0), z.literal('unlimited')]).default(3),
    maxDuration: durationMs().default(30 * 86_400_000),
    seed: z.number().int().default(1),
  })
  .strict();

const FileSchema = z.object({ scaler: z.unknown().optional(), simulation: z.unknown().optional() }).strict();

/** A simulate config, and the weather of it a run left out (see parseSimulateConfig's `typesFromFlags`). */
export interface SimulateConfig {
  readonly scaler: ScalerConfig;
  readonly simulation: SimulationConfig;
  /** The weather left out: the instance types it named, the run using none of them, and how much. */
  readonly weatherLeftOut: {
    readonly types: readonly string[];
    readonly capacityRefusals: number;
    readonly spotPrices: number;
  };
}

/**
 * Parses a simulate config file's document: a `scaler:` section and a `simulation:` section;
 * `policy`, when a flag chose it, is the one the scaler section is checked for and runs.
 * `typesFromFlags`: the node types are the flags' (`--nodeTypes`), not the file's, so the file's
 * weather for its own types (capacity refusals, spot prices) is left out for the types the run
 * does not use, rather than refused as naming types the cluster has not: the types run get the
 * file's weather for them, or calm. A type no catalogue lists is still refused, as a typo.
 */
export function parseSimulateConfig(
  doc: unknown,
  catalogue: Catalogue,
  source = 'simulate config',
  policy?: PolicyChoice,
  typesFromFlags = false,
): SimulateConfig {
  const { misplaced, rest } = sectionKeysAtTop(doc);
  const top = FileSchema.safeParse(rest);
  if (!top.success)
    throw new ConfigError(source, [...misplaced, ...describeZodIssues(top.error.issues, [], FileSchema)]);
  const problems: string[] = [...misplaced];
  const sim = SimulationSchema.safeParse(top.data.simulation ?? {}, { reportInput: true });
  if (!sim.success) problems.push(...describeZodIssues(sim.error.issues, ['simulation'], SimulationSchema));
  let scalerRaw = top.data.scaler;
  if (sim.success && sim.data.zones && scalerRaw && typeof scalerRaw === 'object' && !('zones' in scalerRaw))
    scalerRaw = { ...(scalerRaw as Record<string, unknown>), zones: sim.data.zones };
  let scaler: ScalerConfig | undefined;
  // Said here: zod's own words for an absent key are "required: nonoptional".
  if (scalerRaw === undefined)
    problems.push(
      'scaler: missing: expected the cluster to simulate (at least scaler.nodeTypes), as in a leader config',
    );
  else
    try {
      scaler = parseScalerConfig(scalerRaw, catalogue, { source, policy });
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else throw e;
    }
  if (sim.success) {
    sim.data.capacityRefusals.forEach((r, i) => {
      if (r.until <= r.from) problems.push(`simulation.capacityRefusals[${i}].until: must be after from`);
    });
    if (sim.data.bootJitter > sim.data.bootTime)
      problems.push(
        `simulation.bootJitter: ${sim.data.bootJitter / 1000}s is longer than bootTime (${sim.data.bootTime / 1000}s): a node would register before it was launched`,
      );
  }
  const run = new Set(scaler?.nodeTypes.flatMap((n) => n.instanceTypes.map((t) => t.name)));
  // Weather for a type of the catalogue's the flags' cluster does not run: left out.
  const leftOut = (type: string | undefined): boolean =>
    typesFromFlags && type !== undefined && !run.has(type) && catalogue.types.has(type);
  if (sim.success && scaler)
    problems.push(...unknownOfferings(sim.data, scaler, leftOut, typesFromFlags ? catalogue : undefined));
  if (problems.length > 0 || !scaler || !sim.success) throw new ConfigError(source, problems);
  const s = sim.data;
  const refusals = s.capacityRefusals.filter((r) => !leftOut(r.instanceType));
  const spotPrices = Object.fromEntries(Object.entries(s.spotPrices).filter(([k]) => !leftOut(priceType(k))));
  const types = [
    ...new Set([
      ...s.capacityRefusals.map((r) => r.instanceType),
      ...Object.keys(s.spotPrices).map(priceType),
    ]),
  ].filter((t): t is string => leftOut(t));
  return {
    weatherLeftOut: {
      types,
      capacityRefusals: s.capacityRefusals.length - refusals.length,
      spotPrices: Object.keys(s.spotPrices).length - Object.keys(spotPrices).length,
    },
    scaler,
    simulation: deepFreeze({
      bootSeconds: s.bootTime / 1000,
      bootJitterSeconds: s.bootJitter / 1000,
      spotInterruptionRate: s.spotInterruptionRate,
      bootFailureRate: s.bootFailureRate,
      capacityRefusals: refusals.map((r) => ({
        instanceType: r.instanceType,
        zone: r.zone,
        capacityType: r.capacityType,
        fromSeconds: r.from / 1000,
        untilSeconds: r.until / 1000,
      })),
      unavailableSeconds: s.unavailableFor / 1000,
      spotPrices,
      spotPriceRatio: s.spotPriceRatio,
      preemptableRetries: s.preemptableRetries === 'unlimited' ? Infinity : s.preemptableRetries,
      maxSeconds: s.maxDuration / 1000,
      seed: s.seed,
    }),
  };
}

/**
 * Keys of the scaler: or simulation: section written at the file's top level (`maxNodes: 5` with
 * no `scaler:` above it): each said with the section it belongs under, where zod would only call
 * it unrecognized; `rest` is the document without them.
 */
function sectionKeysAtTop(doc: unknown): { misplaced: string[]; rest: unknown } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { misplaced: [], rest: doc };
  const scaler = scalerKeys();
  const simulation = new Set(Object.keys(SimulationSchema.shape));
  const misplaced: string[] = [];
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    const sections = [scaler.has(key) ? 'scaler:' : '', simulation.has(key) ? 'simulation:' : ''].filter(
      Boolean,
    );
    if (key in FileSchema.shape || sections.length === 0) rest[key] = value;
    else
      misplaced.push(
        `${key}: a key of the ${sections.join(' or ')} section, given at the top level of the file; indent it under ${sections.join(' or ')}` +
          (sections.length > 1
            ? ' (scaler: what the scaler plans with; simulation: the simulated cloud)'
            : ''),
      );
  }
  return { misplaced, rest };
}

/** The instance type a `spotPrices` key names (`c5.2xlarge` or `c5.2xlarge/us-west-2a`). */
function priceType(key: string): string {
  return key.split('/')[0]!;
}

/**
 * The instance types and zones the simulation's refusals and spot prices name that the cluster
 * has not: such an entry never matches a launch, so the run would silently simulate calm weather.
 * Entries `leftOut` says of their type are not checked: the run leaves them out. `anyOf`: the
 * node types are the flags', so the weather may name any type of this catalogue (the file's own,
 * which the flags dropped, among them): a type it does not list is a typo, and the closest of its
 * types is suggested, not only of the few the run uses.
 */
function unknownOfferings(
  sim: {
    capacityRefusals: readonly { instanceType?: string; zone?: string }[];
    spotPrices: Record<string, number>;
  },
  scaler: ScalerConfig,
  leftOut: (type: string | undefined) => boolean,
  anyOf?: Catalogue,
): string[] {
  const types = new Set(scaler.nodeTypes.flatMap((n) => n.instanceTypes.map((t) => t.name)));
  const zones = new Set(scaler.zones);
  const problems: string[] = [];
  const check = (path: string, kind: 'instance type' | 'zone', name: string): void => {
    const known = kind === 'zone' ? zones : types;
    if (known.has(name)) return;
    if (kind === 'instance type' && anyOf !== undefined) {
      const hint = closestNames(name, anyOf.types.keys(), 1)[0];
      problems.push(
        `${path}: ${name} is no instance type of the catalogue's (the node types are the flags', so the weather may name any of its ${anyOf.types.size} instance types)${hint !== undefined ? `; did you mean ${hint}?` : ''}`,
      );
      return;
    }
    const hints = closestNames(name, known, 1);
    problems.push(
      `${path}: ${name} is no ${kind} of the cluster's (${kind === 'zone' ? 'scaler.zones' : 'scaler.nodeTypes'}: ${[...known].join(', ')})${hints.length > 0 ? `; did you mean ${hints[0]}?` : ''}`,
    );
  };
  sim.capacityRefusals.forEach((r, i) => {
    if (leftOut(r.instanceType)) return;
    if (r.instanceType !== undefined)
      check(`simulation.capacityRefusals[${i}].instanceType`, 'instance type', r.instanceType);
    if (r.zone !== undefined) check(`simulation.capacityRefusals[${i}].zone`, 'zone', r.zone);
  });
  for (const key of Object.keys(sim.spotPrices)) {
    const [type = '', zone, ...rest] = key.split('/');
    const path = `simulation.spotPrices.${key}`;
    if (rest.length === 0 && leftOut(type)) continue;
    if (rest.length > 0) {
      problems.push(`${path}: expected an instance type or type/zone (c5.2xlarge, c5.2xlarge/us-west-2a)`);
      continue;
    }
    check(path, 'instance type', type);
    if (zone !== undefined) check(path, 'zone', zone);
  }
  return problems;
}
