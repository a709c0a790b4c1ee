/**
 * `npm run bench -- simulate`: both policies on the three shipped traces with the shipped cluster
 * (bench/traces/cluster.yaml), one JSON line each, then one line per trace with the ratios
 * (cost policy over toil-classic).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readCatalogue } from '../src/scaler/catalogueFile.js';
import { parseSimulateConfig } from '../src/scaler/simulator/config.js';
import { simulate, type SimulationResult } from '../src/scaler/simulator/engine.js';
import { parseTrace } from '../src/scaler/simulator/trace.js';

export default async function run(args: string[]): Promise<void> {
  const dir = args[0] ?? 'bench/traces';
  const catalogue = await readCatalogue();
  const { scaler, simulation } = parseSimulateConfig(
    parse(readFileSync(join(dir, 'cluster.yaml'), 'utf8')),
    catalogue,
  );
  for (const name of ['sort', 'scatter', 'day-long']) {
    const trace = parseTrace(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')), name);
    const results: Record<string, SimulationResult> = {};
    for (const policy of ['cost', 'toil-classic'] as const) {
      const t0 = process.hrtime.bigint();
      const r = simulate(trace, scaler, simulation, { policy });
      results[policy] = r;
      const { trace: traceName, policy: p, ...rest } = r;
      console.log(
        JSON.stringify({
          bench: 'simulate',
          trace: traceName,
          policy: p,
          ...rest,
          wall_ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e6),
        }),
      );
    }
    const c = results['cost']!;
    const k = results['toil-classic']!;
    console.log(
      JSON.stringify({
        bench: 'simulate-ratio',
        trace: name,
        cost_ratio: Math.round((c.cost / k.cost) * 1000) / 1000,
        makespan_ratio: Math.round((c.makespan / k.makespan) * 1000) / 1000,
      }),
    );
  }
}
