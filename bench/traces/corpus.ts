/**
 * The corpus: (trace, cluster) cases, deterministic by seed. Every trace family runs on three of
 * the cluster scenarios (family i on scenarios i, i+2 and i+4, so each family meets different
 * weather, limits and node-type sets), and the three shipped traces run on the shipped
 * cluster.yaml. Seed 1 is the corpus the policy is measured on; any other seed is a held-out copy
 * (new draws of every size, count, runtime and arrival, and of the simulated weather).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Catalogue } from '../../src/scaler/catalogue.js';
import { parseSimulateConfig } from '../../src/scaler/simulator/config.js';
import { parseTrace, type Trace } from '../../src/scaler/simulator/trace.js';
import type { ScalerConfig } from '../../src/scaler/config.js';
import type { SimulationConfig } from '../../src/scaler/simulator/config.js';
import { CLUSTERS } from './clusters.js';
import { FAMILIES, generateTrace } from './families.js';

export interface CorpusCase {
  readonly name: string;
  readonly trace: Trace;
  readonly cluster: string;
  readonly scaler: ScalerConfig;
  readonly simulation: SimulationConfig;
}

export const SHIPPED_TRACES = ['sort', 'scatter', 'day-long'] as const;

/** Every case of the corpus for `seed`; `overrides` are merged into every scaler section. */
export function corpusCases(
  catalogue: Catalogue,
  seed: number,
  options: { dir?: string; scaler?: Record<string, unknown> } = {},
): CorpusCase[] {
  const dir = options.dir ?? 'bench/traces';
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
  for (const name of SHIPPED_TRACES) {
    const trace = parseTrace(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')), name);
    cases.push({ name: `${name}@shipped`, trace, cluster: 'shipped', ...configFor(shipped.scaler, shipped.simulation) });
  }
  FAMILIES.forEach((family, i) => {
    const trace = parseTrace(generateTrace(family, seed), family.name);
    for (const k of [0, 2, 4]) {
      const cluster = CLUSTERS[(i + k) % CLUSTERS.length]!;
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
