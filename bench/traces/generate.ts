/**
 * Writes the three shipped traces (seeded, so the files are reproducible):
 *   node dist/bench/traces/generate.js bench/traces
 * - sort.json: the shape of the sort example (setup, a binary tree of splits down to 256 sorted
 *   leaves, merges back up), every job preemptable as in Toil's spot sort test;
 * - scatter.json: a wide scatter of 2,000 short alignment-like jobs (lognormal runtimes around
 *   5 min) and one gather;
 * - day-long.json: Toil #3406, 20 one-node jobs of about a day each, no history to go on.
 * With `--corpus SEED` it writes the corpus's generated traces (FAMILY.json) and cluster scenarios
 * (CLUSTER.yaml) instead, for `toil simulate`:
 *   node dist/bench/traces/generate.js /tmp/corpus --corpus 1
 * With `--drawn SEED [COUNT]` it writes the drawn families of that seed (bench/traces/drawn.ts;
 * NAME.json, 16 unless COUNT says) and the cluster scenarios, to read a drawn case with `toil simulate`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { seededRandom } from '../../src/scaler/simulator/random.js';
import { CLUSTERS } from './clusters.js';
import { drawnFamilies } from './drawn.js';
import { FAMILIES, generateTrace } from './families.js';

interface Job {
  id: string;
  name: string;
  arrival: number;
  cores: number;
  memory: string;
  disk: string;
  preemptable: boolean;
  runtime: number;
  dependsOn?: string[];
}

function sortTrace(): object {
  const rand = seededRandom(7);
  const jobs: Job[] = [];
  const depth = 8;
  jobs.push({ id: 'setup', name: 'setup', arrival: 0, cores: 1, memory: '2Gi', disk: '8Gi', preemptable: true, runtime: 60 });
  // Returns the id of the job whose completion means "this range is sorted".
  const down = (level: number, path: string, parent: string): string => {
    if (level === depth) {
      const id = `sort${path}`;
      jobs.push({ id, name: 'sort', arrival: 0, cores: 1, memory: '2Gi', disk: '3Gi', preemptable: true, runtime: Math.round(200 + rand() * 80), dependsOn: [parent] });
      return id;
    }
    const id = `down${path || '-root'}`;
    const share = 2 ** (depth - level);
    jobs.push({ id, name: 'down', arrival: 0, cores: 1, memory: '2Gi', disk: '4Gi', preemptable: true, runtime: Math.round(5 + share * 0.8 * (0.9 + rand() * 0.2)), dependsOn: [parent] });
    const a = down(level + 1, `${path}0`, id);
    const b = down(level + 1, `${path}1`, id);
    const up = `up${path || '-root'}`;
    jobs.push({ id: up, name: 'up', arrival: 0, cores: 1, memory: '2Gi', disk: '4Gi', preemptable: true, runtime: Math.round(10 + share * 2.2 * (0.9 + rand() * 0.2)), dependsOn: [a, b] });
    return up;
  };
  down(0, '', 'setup');
  return { name: 'sort', description: 'Toil sort example: recursive split to 256 leaves, sort, merge back up', jobs };
}

function scatterTrace(): object {
  const rand = seededRandom(11);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const jobs: Job[] = [{ id: 'scatter', name: 'scatter', arrival: 0, cores: 1, memory: '1Gi', disk: '2Gi', preemptable: false, runtime: 30 }];
  const ids: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const id = `align-${i}`;
    ids.push(id);
    jobs.push({ id, name: 'align', arrival: 0, cores: 2, memory: '3Gi', disk: '5Gi', preemptable: true, runtime: Math.max(30, Math.round(300 * Math.exp(0.4 * normal()))), dependsOn: ['scatter'] });
  }
  jobs.push({ id: 'gather', name: 'gather', arrival: 0, cores: 4, memory: '8Gi', disk: '20Gi', preemptable: false, runtime: 600, dependsOn: ids });
  return { name: 'scatter', description: 'a wide scatter of 2,000 short preemptable jobs and a gather', jobs };
}

function dayLongTrace(): object {
  const rand = seededRandom(3406);
  const jobs: Job[] = [];
  for (let i = 0; i < 20; i++)
    jobs.push({ id: `assemble-${i}`, name: 'assemble', arrival: 0, cores: 8, memory: '28Gi', disk: '20Gi', preemptable: false, runtime: Math.round(86_400 * (0.9 + rand() * 0.2)) });
  return { name: 'day-long', description: 'Toil #3406: 20 day-long jobs that each need a node', jobs };
}

const dir = process.argv[2] ?? 'bench/traces';
mkdirSync(dir, { recursive: true });
if (process.argv[3] === '--corpus' || process.argv[3] === '--drawn') {
  const seed = Number(process.argv[4] ?? 1);
  if (process.argv[3] === '--drawn')
    for (const family of drawnFamilies(seed, Number(process.argv[5] ?? 16)))
      writeFileSync(join(dir, `${family.name}.json`), JSON.stringify(family.trace) + '\n');
  else
    for (const family of FAMILIES)
      writeFileSync(join(dir, `${family.name}.json`), JSON.stringify(generateTrace(family, seed)) + '\n');
  for (const c of CLUSTERS)
    writeFileSync(
      join(dir, `${c.name}.yaml`),
      `# ${c.description}\n` + stringify({ scaler: c.scaler, simulation: { ...c.simulation, seed } }),
    );
} else
  for (const [file, trace] of [
    ['sort.json', sortTrace()],
    ['scatter.json', scatterTrace()],
    ['day-long.json', dayLongTrace()],
  ] as const)
    writeFileSync(join(dir, file), JSON.stringify(trace) + '\n');
