/**
 * `npm run bench -- scaler`: plan time and memory for big queues, and planned $/h against the
 * fractional lower bound for a fixed suite of queues, for both policies. JSON lines:
 *   {"bench":"plan","policy":"cost","jobs":100000,"nodeTypes":20,"input":"per-job",...}
 *   {"bench":"cost","policy":"cost","queue":"mixed","ratio":1.01,...}
 * Each plan size runs in a child process so its peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { readCatalogue } from '../src/scaler/catalogueFile.js';
import { parseScalerConfig, type ScalerConfig } from '../src/scaler/config.js';
import { fractionalLowerBound } from '../src/scaler/lowerBound.js';
import { planScaling } from '../src/scaler/policy.js';
import { emptyRuntimeHistory, recordCompletion } from '../src/scaler/runtimes.js';
import { seededRandom } from '../src/scaler/simulator/random.js';
import type {
  ExistingNode,
  PolicyName,
  QueuedJob,
  RunningJob,
  RuntimeHistory,
  ScalingSnapshot,
} from '../src/scaler/types.js';

const GiB = 2 ** 30;
const NOW = Date.UTC(2026, 0, 1);

const NODE_TYPES = [
  'c5.large',
  'c5.xlarge',
  'c5.2xlarge',
  'c5.4xlarge',
  'm5.large',
  'm5.xlarge',
  'm5.2xlarge',
  'm5.4xlarge',
  'r5.large',
  'r5.xlarge',
  'r5.2xlarge',
  'r5.4xlarge',
  'm6a.xlarge',
  'm6a.2xlarge',
  'c6a.2xlarge',
  'r6a.2xlarge',
  'c5.2xlarge:0.3',
  'm5.2xlarge:0.3',
  'c6a.2xlarge:0.3',
  'm6a.xlarge:0.2',
].join(',');

interface Shape {
  name: string;
  cores: number;
  memoryBytes: number;
  diskBytes: number;
  preemptable: boolean;
  runtime: number;
}

/** 40 job shapes as workflows have them: a few names, cores 1–8, memory 1–32 GiB, runtimes 1 min–2 h. */
function shapes(): Shape[] {
  const rand = seededRandom(42);
  const out: Shape[] = [];
  const cores = [1, 2, 4, 8];
  const mem = [1, 2, 4, 8, 16, 32];
  for (let i = 0; i < 40; i++)
    out.push({
      name: `step${i % 10}`,
      cores: cores[Math.floor(rand() * cores.length)]!,
      memoryBytes: mem[Math.floor(rand() * mem.length)]! * GiB,
      diskBytes: (1 + Math.floor(rand() * 20)) * GiB,
      preemptable: rand() < 0.6,
      runtime: Math.round(60 + rand() * 7000),
    });
  return out;
}

function history(list: Shape[]): RuntimeHistory {
  let h = emptyRuntimeHistory();
  for (const s of list) h = recordCompletion(h, s.name, s.runtime);
  return h;
}

/**
 * A queue of n jobs. "per-job": one entry per job (what a leader that does not group passes),
 * objects sharing their strings; "grouped": one entry per shape with a count (the memory-lean way
 * a leader hands over a million queued jobs).
 */
function queue(n: number, input: 'per-job' | 'grouped', list: Shape[]): QueuedJob[] {
  const rand = seededRandom(n);
  if (input === 'grouped') {
    const counts = list.map(() => 0);
    for (let i = 0; i < n; i++) counts[Math.floor(rand() * list.length)]! += 1;
    return list.map((s, i) => ({
      id: `q${i}`,
      name: s.name,
      cores: s.cores,
      memoryBytes: s.memoryBytes,
      diskBytes: s.diskBytes,
      preemptable: s.preemptable,
      count: counts[i]!,
    }));
  }
  const out: QueuedJob[] = new Array<QueuedJob>(n);
  for (let i = 0; i < n; i++) {
    const s = list[Math.floor(rand() * list.length)]!;
    out[i] = {
      id: String(i),
      name: s.name,
      cores: s.cores,
      memoryBytes: s.memoryBytes,
      diskBytes: s.diskBytes,
      preemptable: s.preemptable,
    };
  }
  return out;
}

/** 100 registered nodes, each running two jobs: the planner also packs onto existing capacity. */
function cluster(list: Shape[]): { nodes: ExistingNode[]; running: RunningJob[] } {
  const nodes: ExistingNode[] = [];
  const running: RunningJob[] = [];
  for (let i = 0; i < 100; i++) {
    const id = `i-${i}`;
    nodes.push({
      id,
      instanceType: 'm5.2xlarge',
      zone: 'us-east-1a',
      capacityType: 'on-demand',
      state: 'registered',
      launchedAt: NOW - 3_600_000,
      registeredAt: NOW - 3_500_000,
    });
    for (let k = 0; k < 2; k++) {
      const s = list[(i + k) % list.length]!;
      if (s.memoryBytes > 8 * GiB) continue;
      running.push({
        id: `r-${i}-${k}`,
        name: s.name,
        nodeId: id,
        startedAt: NOW - 600_000,
        cores: Math.min(s.cores, 2),
        memoryBytes: s.memoryBytes,
        diskBytes: s.diskBytes,
        preemptable: s.preemptable,
      });
    }
  }
  return { nodes, running };
}

async function configFor(raw: Record<string, unknown>): Promise<ScalerConfig> {
  return parseScalerConfig(raw, await readCatalogue());
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function planOne(n: number, input: 'per-job' | 'grouped'): Promise<void> {
  const cfg = await configFor({
    nodeTypes: NODE_TYPES,
    maxNodes: 100_000,
    zones: ['us-east-1a', 'us-east-1b'],
    betaInertia: 0.1,
  });
  const list = shapes();
  const snap: ScalingSnapshot = {
    now: NOW,
    queued: queue(n, input, list),
    ...cluster(list),
    runtimes: history(list),
  };
  const runs = n >= 1_000_000 ? 7 : n >= 100_000 ? 15 : 40;
  planScaling(snap, cfg); // warm-up
  const times: number[] = [];
  let launched = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const plan = planScaling(snap, cfg);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    launched = plan.launch.reduce((s, l) => s + l.count, 0);
  }
  times.sort((a, b) => a - b);
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      bench: 'plan',
      policy: 'cost',
      jobs: n,
      nodeTypes: 20,
      input,
      runs,
      median_ms: r2(quantile(times, 0.5)),
      p95_ms: r2(quantile(times, 0.95)),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      nodes_launched: launched,
    }),
  );
}

/** The fixed suite of queues for the cost ratio (names are part of the output; keep them stable). */
function costSuite(): { name: string; nodeTypes: string; queued: QueuedJob[]; history: RuntimeHistory }[] {
  const q = (
    name: string,
    n: number,
    cores: number,
    memGiB: number,
    preemptable: boolean,
    disk = 2,
  ): QueuedJob => ({
    id: `${name}-0`,
    name,
    cores,
    memoryBytes: memGiB * GiB,
    diskBytes: disk * GiB,
    preemptable,
    count: n,
  });
  const hist = (pairs: [string, number][]): RuntimeHistory =>
    pairs.reduce((h, [n, s]) => recordCompletion(h, n, s), emptyRuntimeHistory());
  const general =
    'c5.large,c5.xlarge,c5.2xlarge,c5.4xlarge,m5.large,m5.xlarge,m5.2xlarge,m5.4xlarge,r5.large,r5.xlarge,r5.2xlarge,r5.4xlarge';
  const withSpot = `${general},c5.2xlarge:0.3,m5.2xlarge:0.3,r5.2xlarge:0.3`;
  return [
    {
      name: 'uniform-1core',
      nodeTypes: general,
      queued: [q('a', 5000, 1, 1, false)],
      history: hist([['a', 7200]]),
    },
    {
      name: 'memory-heavy',
      nodeTypes: general,
      queued: [q('m', 2000, 1, 12, false)],
      history: hist([['m', 7200]]),
    },
    {
      name: 'cpu-heavy',
      nodeTypes: general,
      queued: [q('c', 2000, 4, 2, false)],
      history: hist([['c', 7200]]),
    },
    {
      name: 'mixed-cpu-mem',
      nodeTypes: general,
      queued: [q('c', 1500, 3, 1, false), q('m', 1500, 1, 10, false)],
      history: hist([
        ['c', 7200],
        ['m', 7200],
      ]),
    },
    {
      name: 'short-and-long',
      nodeTypes: general,
      queued: [q('s', 20000, 1, 2, false), q('l', 300, 8, 30, false)],
      history: hist([
        ['s', 120],
        ['l', 40000],
      ]),
    },
    {
      name: 'preemptable-mix',
      nodeTypes: withSpot,
      queued: [q('p', 4000, 2, 4, true), q('o', 1000, 2, 4, false), q('big', 200, 8, 60, true)],
      history: hist([
        ['p', 3600],
        ['o', 3600],
        ['big', 7200],
      ]),
    },
    {
      name: 'toil-sort-shape',
      nodeTypes: 'c5.2xlarge:0.3,m5.2xlarge:0.3,c5.2xlarge,m5.2xlarge,r5.2xlarge,c5.4xlarge,m5.4xlarge',
      queued: [q('sort', 256, 1, 2, true, 3), q('up', 255, 1, 2, true, 4), q('down', 255, 1, 2, true, 4)],
      history: hist([
        ['sort', 240],
        ['up', 2000],
        ['down', 100],
      ]),
    },
  ];
}

async function costRatios(): Promise<void> {
  for (const s of costSuite()) {
    // Boot time 0 so both policies plan over the same window (Toil's model has no boot time).
    const cfg = await configFor({ nodeTypes: s.nodeTypes, maxNodes: 100_000, betaInertia: 0, bootTime: 0 });
    // Spot at 35 % of on-demand, the simulator's default; without prices spot costs on-demand.
    const offerings = cfg.nodeTypes
      .filter((nt) => nt.capacityType === 'spot')
      .flatMap((nt) =>
        nt.instanceTypes.map((it) => ({
          instanceType: it.name,
          zone: cfg.zones[0]!,
          capacityType: 'spot' as const,
          pricePerHour: Math.round(it.onDemandPrice * 0.35 * 1e4) / 1e4,
        })),
      );
    const snap: ScalingSnapshot = {
      now: NOW,
      queued: s.queued,
      running: [],
      nodes: [],
      runtimes: s.history,
      offerings,
    };
    const bound = fractionalLowerBound(snap, cfg);
    for (const policy of ['cost', 'toil-classic'] as PolicyName[]) {
      const plan = planScaling(snap, cfg, policy);
      const planned = plan.launch.reduce((sum, l) => sum + l.count * l.pricePerHour, 0);
      console.log(
        JSON.stringify({
          bench: 'cost',
          policy,
          queue: s.name,
          ratio: Math.round((planned / bound) * 1000) / 1000,
          planned_per_hour: Math.round(planned * 1000) / 1000,
          bound_per_hour: Math.round(bound * 1000) / 1000,
          nodes: plan.launch.reduce((sum, l) => sum + l.count, 0),
          jobs_left_waiting: plan.waiting.reduce((sum, w) => sum + w.count, 0),
        }),
      );
    }
  }
}

export default async function run(args: string[]): Promise<void> {
  if (args[0] === '--cost') {
    await costRatios();
    return;
  }
  if (args[0] === '--one') {
    await planOne(Number(args[1]), args[2] === 'grouped' ? 'grouped' : 'per-job');
    return;
  }
  for (const input of ['per-job', 'grouped'] as const)
    for (const n of [1_000, 10_000, 100_000, 1_000_000]) {
      const child = spawnSync(
        process.execPath,
        ['--max-old-space-size=2048', process.argv[1]!, 'scaler', '--one', String(n), input],
        { stdio: 'inherit' },
      );
      if (child.status !== 0)
        console.log(
          JSON.stringify({ bench: 'plan', policy: 'cost', jobs: n, input, error: `exit ${child.status}` }),
        );
    }
  await costRatios();
}
