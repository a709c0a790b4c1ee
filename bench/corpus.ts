/**
 * `npm run bench -- corpus [--seed N] [--pairings corpus|held-out|all] [--only TEXT] [--weather W] [--set key=value …]`
 * `npm run bench -- corpus --families drawn [--count N] [--clusters all|K] [--seed N] [--only TEXT] [--weather W] [--set …]`:
 * both policies on every
 * (trace, cluster) case of the generated corpus (bench/traces/corpus.ts), one JSON line per case,
 * then one summary line: worst and geometric-mean cost and makespan ratios (cost policy ÷
 * toil-classic) and launches per job-hour, with the cases that miss each target.
 * `--set` overrides a scaler setting in every case (e.g. `--set objective=speed`). `--pairings
 * held-out` runs each trace family on the cluster scenarios the corpus does not pair it with.
 * `--families drawn` runs N families drawn at random instead (bench/traces/drawn.ts: arrival, DAG
 * shape, job shapes, runtimes and preemptable share drawn by seed), each on every cluster scenario
 * or on K drawn for it; each case's line carries the drawn parameters (`drawn`).
 * `--weather W` runs each case under W weather draws (spot interruptions, boot failures, boot
 * times: the simulation's seed; the trace is the same) and reports each policy's mean over them,
 * so one unlucky draw (a job lost with its spot node four times) does not decide a case.
 */
import { UserInputError } from '../src/common/errors.js';
import { readCatalogue } from '../src/scaler/catalogueFile.js';
import { simulate, type SimulationResult } from '../src/scaler/simulator/engine.js';
import type { Trace } from '../src/scaler/simulator/trace.js';
import type { SimulationConfig } from '../src/scaler/simulator/config.js';
import type { ScalerConfig } from '../src/scaler/config.js';
import { costFloor } from './corpusFloor.js';
import {
  corpusCases,
  drawnCases,
  FAMILY_SETS,
  MAX_DRAWN,
  PAIRINGS,
  type Families,
  type Pairings,
} from './traces/corpus.js';
import { CLUSTERS } from './traces/clusters.js';

interface CaseLine {
  case: string;
  ratio: { cost: number; makespan: number; launchesPerJobHour: number; floor: number };
  cost: { limitOverruns: number; takeBacks: number };
  classic: { limitOverruns: number; takeBacks: number };
  unfinished: string;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const badFlag = (message: string): UserInputError => new UserInputError('BAD_FLAG', message);

export interface CorpusArgs {
  seed: number;
  only?: string;
  pairings: Pairings;
  set: Record<string, unknown>;
  families: Families;
  /** Drawn families only: how many, and on how many cluster scenarios each. */
  count: number;
  clusters: number | 'all';
  /** Weather draws per case (simulation seeds); each policy's figures are means over them. */
  weather: number;
}

/** Most weather draws a case may take (each is two whole simulations). */
export const MAX_WEATHER = 64;

const positiveInt = (flag: string, value: string, max: number): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw badFlag(`${flag} expects a whole number from 1 to ${max}, got ${value}`);
  return n;
};

export function parseArgs(args: string[]): CorpusArgs {
  let seed = 1;
  let only: string | undefined;
  let pairings: Pairings = 'corpus';
  let families: Families = 'fixed';
  let count: number | undefined;
  let clusters: number | 'all' | undefined;
  let pairingsGiven = false;
  let weather = 1;
  const set: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = args[++i];
    if (value === undefined) throw badFlag(`${a} needs a value`);
    if (a === '--seed') seed = Number(value);
    else if (a === '--only') only = value;
    else if (a === '--families') {
      if (!(FAMILY_SETS as readonly string[]).includes(value))
        throw badFlag(`--families expects one of ${FAMILY_SETS.join(', ')}, got ${value}`);
      families = value as Families;
    } else if (a === '--count') count = positiveInt(a, value, MAX_DRAWN);
    else if (a === '--weather') weather = positiveInt(a, value, MAX_WEATHER);
    else if (a === '--clusters') clusters = value === 'all' ? 'all' : positiveInt(a, value, CLUSTERS.length);
    else if (a === '--pairings') {
      if (!(PAIRINGS as readonly string[]).includes(value))
        throw badFlag(`--pairings expects one of ${PAIRINGS.join(', ')}, got ${value}`);
      pairings = value as Pairings;
      pairingsGiven = true;
    } else if (a === '--set') {
      const [k, v] = value.split('=', 2);
      if (!k || v === undefined) throw badFlag(`--set expects key=value, got ${value}`);
      set[k] = /^-?[\d.]+$/.test(v) ? Number(v) : v;
    } else
      throw badFlag(
        `unknown argument ${a} (expected --seed, --pairings, --families, --count, --clusters, --only, --weather or --set)`,
      );
  }
  if (!Number.isInteger(seed)) throw badFlag('--seed must be an integer');
  if (families === 'fixed' && (count !== undefined || clusters !== undefined))
    throw badFlag('--count and --clusters apply to drawn families only (add --families drawn)');
  if (families === 'drawn' && pairingsGiven)
    throw badFlag(
      '--pairings applies to the fixed families only; drawn families run on every cluster scenario, or on --clusters K drawn for each',
    );
  return { seed, only, pairings, set, families, count: count ?? 16, clusters: clusters ?? 'all', weather };
}

/** A weather draw's simulation seed: draw 0 is the case's own, so `--weather 1` is the plain run. */
export const weatherSeed = (caseSeed: number, draw: number): number => caseSeed + 7919 * draw;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * One policy's figures on a case: means over its weather draws (a single draw's own figures when
 * there is one). Limit overruns are summed: a policy that overran in any draw overran.
 */
export function figures(runs: readonly SimulationResult[], jobHours: number) {
  const nodesLaunched = mean(runs.map((r) => r.nodesLaunched));
  return {
    finished: runs.every((r) => r.finished),
    cost: mean(runs.map((r) => r.cost)),
    makespan: mean(runs.map((r) => r.makespan)),
    nodesLaunched,
    launchesPerJobHour: r3(nodesLaunched / jobHours),
    drains: mean(runs.map((r) => r.drains)),
    takeBacks: mean(runs.map((r) => r.takeBacks)),
    unused: mean(runs.map((r) => r.breakdown.unused)),
    idle: mean(runs.map((r) => r.breakdown.idle)),
    reruns: mean(runs.map((r) => r.rerunsAfterInterruption)),
    limitOverruns: runs.reduce((s, r) => s + r.limitOverruns, 0),
    utilisation: mean(runs.map((r) => r.meanUtilisation)),
    // Seconds the longest-queued job waited from ready to start.
    worstQueueWait: Math.max(...runs.map((r) => r.worstQueueWait)),
  };
}

/** Both policies on one case, under `weather` draws of its simulation seed. */
export function runCase(
  c: { readonly trace: Trace; readonly scaler: ScalerConfig; readonly simulation: SimulationConfig },
  weather: number,
): { cost: SimulationResult[]; classic: SimulationResult[] } {
  const draws = Array.from({ length: weather }, (_, k) => weatherSeed(c.simulation.seed, k));
  return {
    cost: draws.map((seed) => simulate(c.trace, c.scaler, c.simulation, { policy: 'cost', seed })),
    classic: draws.map((seed) => simulate(c.trace, c.scaler, c.simulation, { policy: 'toil-classic', seed })),
  };
}

export default async function run(args: string[]): Promise<void> {
  const { seed, only, pairings, set, families, count, clusters, weather } = parseArgs(args);
  const catalogue = await readCatalogue();
  const all =
    families === 'drawn'
      ? drawnCases(catalogue, seed, { count, clusters, scaler: set })
      : corpusCases(catalogue, seed, { scaler: set, pairings });
  const cases = all.filter((c) => !only || c.name.includes(only));
  const t0 = process.hrtime.bigint();
  const lines: CaseLine[] = [];
  for (const c of cases) {
    const t = process.hrtime.bigint();
    const runs = runCase(c, weather);
    const jobHours = c.trace.jobs.reduce((s, j) => s + j.runtime, 0) / 3600;
    const cost = figures(runs.cost, jobHours);
    const classic = figures(runs.classic, jobHours);
    const floor = costFloor(c.trace, c.scaler, c.simulation);
    const line = {
      bench: 'corpus',
      seed,
      case: c.name,
      // What the drawn family was drawn as (bench/traces/drawn.ts), to read and redraw the case.
      ...(c.drawn ? { drawn: c.drawn } : {}),
      jobs: c.trace.jobs.length,
      jobHours: r3(jobHours),
      cost,
      classic,
      // The least any schedule could cost here (bench/corpusFloor.ts).
      floor: r3(floor),
      // Over weather draws, ratios of the means: what the bill and the wait come to on average.
      ratio: {
        cost: r3(cost.cost / classic.cost),
        makespan: r3(cost.makespan / classic.makespan),
        launchesPerJobHour: r3(cost.nodesLaunched / Math.max(classic.nodesLaunched, 1)),
        floor: r3(floor / classic.cost),
      },
      // Each draw's own cost ratio: how much of a case's verdict is the weather.
      ...(weather > 1
        ? { weather: { draws: weather, cost: runs.cost.map((r, k) => r3(r.cost / runs.classic[k]!.cost)) } }
        : {}),
      wall_ms: Math.round(Number(process.hrtime.bigint() - t) / 1e6),
    };
    const stuck = [runs.cost, runs.classic]
      .map((rs) => rs.find((r) => !r.finished))
      .filter((r): r is SimulationResult => r !== undefined)
      .map((r) => {
        // The reason at the root: a job the plan kept waiting or could not place, not its dependants.
        const root = r.neverRan.find((g) => !g.reason.startsWith('never released')) ?? r.neverRan[0];
        return `${c.name}: ${r.policy} did not finish (${root?.reason ?? r.ended})`;
      });
    if (stuck.length > 0) line.ratio.cost = line.ratio.makespan = NaN;
    lines.push({ ...line, unfinished: stuck.join('; ') });
    console.log(JSON.stringify(line));
  }
  const ok = lines.filter((l) => Number.isFinite(l.ratio.cost));
  const within = ok.filter((l) => l.classic.limitOverruns === 0);
  const geo = (xs: number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
  const worst = (key: 'cost' | 'makespan' | 'launchesPerJobHour') =>
    ok.reduce((w, l) => (l.ratio[key] > w.ratio[key] ? l : w), ok[0]!);
  console.log(
    JSON.stringify({
      bench: 'corpus-summary',
      seed,
      ...(families === 'drawn' ? { families, count, clusters } : { pairings }),
      ...(weather > 1 ? { weather } : {}),
      cases: lines.length,
      // Which policy did not finish, and the first reason its last plan gave (left out of the ratios).
      unfinished: lines.filter((l) => !Number.isFinite(l.ratio.cost)).map((l) => l.unfinished),
      cost: {
        geomean: r3(geo(ok.map((l) => l.ratio.cost))),
        worst: worst('cost').ratio.cost,
        worstCase: worst('cost').case,
      },
      makespan: {
        geomean: r3(geo(ok.map((l) => l.ratio.makespan))),
        worst: worst('makespan').ratio.makespan,
        worstCase: worst('makespan').case,
      },
      // The best cost geomean any policy could reach (each case at its floor ÷ toil-classic), and
      // the cases where even the floor is above 0.70 of toil-classic.
      floor: {
        geomean: r3(geo(ok.map((l) => l.ratio.floor))),
        over0_7: ok.filter((l) => l.ratio.floor > 0.7).map((l) => `${l.case} ${l.ratio.floor}`),
      },
      launchesPerJobHour: {
        worstRatio: worst('launchesPerJobHour').ratio.launchesPerJobHour,
        worstCase: worst('launchesPerJobHour').case,
      },
      // Drains a later plan undid, summed over the cases: churn launches do not show (a batch-system
      // call, a log line and a window with no work landing on the node each).
      takeBacks: {
        cost: r3(ok.reduce((s, l) => s + l.cost.takeBacks, 0)),
        classic: r3(ok.reduce((s, l) => s + l.classic.takeBacks, 0)),
      },
      missing: {
        costOver1: ok.filter((l) => l.ratio.cost > 1).map((l) => `${l.case} ${l.ratio.cost}`),
        launchesOver1_5: ok
          .filter((l) => l.ratio.launchesPerJobHour > 1.5)
          .map((l) => `${l.case} ${l.ratio.launchesPerJobHour}`),
      },
      // Cases where a policy left more nodes billed than a limit allows after some tick: toil-classic
      // follows Toil, which counts no draining node and has no spot-pool or cluster-wide limit.
      limitOverruns: {
        cost: lines.filter((l) => l.cost.limitOverruns > 0).map((l) => l.case),
        classic: lines.filter((l) => l.classic.limitOverruns > 0).map((l) => l.case),
      },
      // The ratios again over the cases where toil-classic billed within every limit: where it did
      // not, it bought speed with nodes the operator did not allow, so its makespan is no yardstick.
      withinLimits: {
        cases: within.length,
        cost: { geomean: r3(geo(within.map((l) => l.ratio.cost))) },
        makespan: { geomean: r3(geo(within.map((l) => l.ratio.makespan))) },
      },
      wall_s: r3(Number(process.hrtime.bigint() - t0) / 1e9),
    }),
  );
}
