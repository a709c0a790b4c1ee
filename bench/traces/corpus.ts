/**
 * The corpus: (trace, cluster) cases, deterministic by seed. Every trace family runs on three of
 * the cluster scenarios (family i on scenarios i, i+2 and i+4, so each family meets different
 * weather, limits and node-type sets), and the three shipped traces run on the shipped
 * cluster.yaml. Seed 1 is the corpus the policy is measured on; any other seed is a held-out copy
 * (new draws of every size, count, runtime and arrival, and of the simulated weather).
 *
 * The held-out pairings (`pairings: 'held-out'`) run every family on the other three scenarios
 * (i+1, i+3, i+5), the (trace, cluster) combinations no rule of the policy was tuned on: a policy
 * fitted to the corpus's pairings shows it there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Catalogue } from '../../src/scaler/catalogue.js';
import { parseSimulateConfig } from '../../src/scaler/simulator/config.js';
import { parseTrace, type Trace } from '../../src/scaler/simulator/trace.js';
import type { ScalerConfig } from '../../src/scaler/config.js';
import type { SimulationConfig } from '../../src/scaler/simulator/config.js';
import { CLUSTERS, type ClusterSpec } from './clusters.js';
import { drawnDraw, drawnFamilies, type DrawnParams } from './drawn.js';
import { FAMILIES, generateTrace } from './families.js';

export interface CorpusCase {
  readonly name: string;
  readonly trace: Trace;
  readonly cluster: string;
  readonly scaler: ScalerConfig;
  readonly simulation: SimulationConfig;
  /** A drawn family's parameters (`drawnCases`). */
  readonly drawn?: DrawnParams;
}

export const SHIPPED_TRACES = ['sort', 'scatter', 'day-long'] as const;

/** Which (trace, cluster) pairings to run: the corpus's, the held-out ones, or both. */
export type Pairings = 'corpus' | 'held-out' | 'all';
export const PAIRINGS: readonly Pairings[] = ['corpus', 'held-out', 'all'];
const CLUSTER_OFFSETS: Readonly<Record<Pairings, readonly number[]>> = {
  corpus: [0, 2, 4],
  'held-out': [1, 3, 5],
  all: [0, 1, 2, 3, 4, 5],
};

/** The cluster scenarios the family at `familyIndex` runs on. */
export function clustersFor(familyIndex: number, pairings: Pairings): ClusterSpec[] {
  return CLUSTER_OFFSETS[pairings].map((k) => CLUSTERS[(familyIndex + k) % CLUSTERS.length]!);
}

/** Every case of the corpus for `seed`; `overrides` are merged into every scaler section. */
export function corpusCases(
  catalogue: Catalogue,
  seed: number,
  options: { dir?: string; scaler?: Record<string, unknown>; pairings?: Pairings } = {},
): CorpusCase[] {
  const dir = options.dir ?? 'bench/traces';
  const pairings = options.pairings ?? 'corpus';
  const cases: CorpusCase[] = [];
  const shipped = parse(readFileSync(join(dir, 'cluster.yaml'), 'utf8')) as {
    scaler: Record<string, unknown>;
    simulation: Record<string, unknown>;
  };
  const configFor = (scaler: Record<string, unknown>, simulation: Record<string, unknown>) =>
    parseSimulateConfig(
      { scaler: { ...scaler, ...options.scaler }, simulation: { ...simulation, seed } },
      catalogue,
    );
  // The shipped traces have one cluster of their own, so they are no held-out pairing.
  for (const name of pairings === 'held-out' ? [] : SHIPPED_TRACES) {
    const trace = parseTrace(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')), name);
    cases.push({ name: `${name}@shipped`, trace, cluster: 'shipped', ...configFor(shipped.scaler, shipped.simulation) });
  }
  FAMILIES.forEach((family, i) => {
    const trace = parseTrace(generateTrace(family, seed), family.name);
    for (const cluster of clustersFor(i, pairings)) {
      cases.push({
        name: `${family.name}@${cluster.name}`,
        trace,
        cluster: cluster.name,
        ...configFor(cluster.scaler, cluster.simulation),
      });
    }
  });
  return cases;
}

/** Which families a corpus run draws its traces from: the sixteen fixed ones, or drawn ones. */
export type Families = 'fixed' | 'drawn';
export const FAMILY_SETS: readonly Families[] = ['fixed', 'drawn'];
export const MAX_DRAWN = 200;

/**
 * `count` drawn families of `seed` (bench/traces/drawn.ts), each on every cluster scenario or, with
 * `clusters` a number, on that many scenarios drawn for it (by seed and index, so reproducible).
 */
export function drawnCases(
  catalogue: Catalogue,
  seed: number,
  options: { count: number; clusters?: number | 'all'; scaler?: Record<string, unknown> },
): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const clusters = options.clusters ?? 'all';
  drawnFamilies(seed, options.count).forEach((family, i) => {
    const trace = parseTrace(family.trace, family.name);
    let scenarios = [...CLUSTERS];
    if (clusters !== 'all') {
      // A draw of its own, so the scenarios do not shift the family's trace.
      const d = drawnDraw(seed + 0x51ed, i);
      for (let k = scenarios.length - 1; k > 0; k--) {
        const j = d.int(0, k);
        [scenarios[k], scenarios[j]] = [scenarios[j]!, scenarios[k]!];
      }
      scenarios = scenarios.slice(0, clusters);
    }
    for (const cluster of scenarios)
      cases.push({
        name: `${family.name}@${cluster.name}`,
        trace,
        cluster: cluster.name,
        drawn: family.params,
        ...parseSimulateConfig(
          { scaler: { ...cluster.scaler, ...options.scaler }, simulation: { ...cluster.simulation, seed } },
          catalogue,
        ),
      });
  });
  return cases;
}
