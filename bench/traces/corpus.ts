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
import { FAMILIES, generateTrace } from './families.js';

export interface CorpusCase {
  readonly name: string;
  readonly trace: Trace;
  readonly cluster: string;
  readonly scaler: ScalerConfig;
  readonly simulation: SimulationConfig;
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
