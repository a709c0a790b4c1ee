import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserInputError } from '../common/errors.js';
import type { ObservedNode } from '../scaler/tick/clusterView.js';

/**
 * Toil's `--clusterStats [DIR]`: the cluster's node history and usage over an autoscaled run,
 * written as one JSON file when the run ends (succeeded, failed or interrupted). Toil samples its
 * scalable batch system's nodes (cores and memory used and total, per node) once a minute; here
 * each scaler tick is a sample (what the leader's /status plots), and each node the run saw has
 * its life: type, market, launch, termination and cost.
 */
export interface ClusterStatsFile {
  readonly format: 1;
  readonly clusterName: string;
  readonly startedAt: string;
  readonly endedAt: string;
  /** How the workflow ended: succeeded, failed, interrupted. */
  readonly outcome: string;
  /** What the nodes the run launched cost (billing minimum included), in dollars. */
  readonly costDollars: number;
  readonly nodes: readonly ClusterStatsNode[];
  readonly samples: readonly ClusterStatsSample[];
}

export interface ClusterStatsNode {
  readonly id: string;
  readonly instanceType: string;
  readonly zone: string;
  readonly market: 'spot' | 'on-demand';
  /** A worker the run did not launch (`launch-cluster --workers`): never terminated by it. */
  readonly static?: true;
  readonly launchedAt: string;
  /** When its agent was first seen registered with the batch system. */
  readonly registeredAt?: string;
  /**
   * When it went: the tick that terminated it or first missed it, or the run's end for the nodes
   * released then. Absent for a node still running (a static worker, or `--keepNodes`).
   */
  readonly terminatedAt?: string;
  /** Dollars per hour; null when its type is priced nowhere. */
  readonly pricePerHour: number | null;
  /**
   * Its price times its life (at least EC2's billing minimum; a static worker's while the run
   * used it); null when its price is unknown.
   */
  readonly costDollars: number | null;
  /** Its type's cores and memory; null for a type the catalogue lacks. */
  readonly cores: number | null;
  readonly memoryBytes: number | null;
}

/** The cluster at one scaler tick. */
export interface ClusterStatsSample {
  readonly time: string;
  /** Live nodes (booting, registered or draining), and how many of each `market/type`. */
  readonly nodes: number;
  readonly nodesByType: Readonly<Record<string, number>>;
  /** Used: what the jobs running there asked for; total: the nodes' types (unknown types left out). */
  readonly cores: { readonly used: number; readonly total: number };
  readonly memoryBytes: { readonly used: number; readonly total: number };
  /** Jobs issued and waiting for room, and running, as the scaler saw them. */
  readonly jobs: { readonly queued: number; readonly running: number };
  readonly hourlyCostDollars: number;
}

interface NodeLife {
  readonly node: ObservedNode;
  terminatedAt?: number;
}

/** Gathers the samples and node lives tick by tick, and writes the file at the end. */
export class ClusterStatsRecorder {
  private readonly lives = new Map<string, NodeLife>();
  private readonly samples: ClusterStatsSample[] = [];
  private readonly o: {
    readonly path: string;
    readonly clusterName: string;
    readonly startedAt: number;
    /** A node type's cores and memory (the instance catalogue's), if known. */
    readonly typeOf: (name: string) => { readonly cores: number; readonly memoryBytes: number } | undefined;
    readonly billingMinimumSeconds: number;
  };

  constructor(o: ClusterStatsRecorder['o']) {
    this.o = o;
  }

  /** One tick: the live nodes as it saw them, the ids it terminated, and the jobs. */
  sample(
    at: number,
    nodes: readonly ObservedNode[],
    terminated: readonly string[],
    jobs: { readonly queued: number; readonly running: number },
  ): void {
    const live = new Set(nodes.map((n) => n.id));
    for (const [id, life] of this.lives)
      if (life.terminatedAt === undefined && !live.has(id)) life.terminatedAt = at;
    const nodesByType: Record<string, number> = {};
    let cores = { used: 0, total: 0 };
    let memoryBytes = { used: 0, total: 0 };
    for (const n of nodes) {
      // Seen before the tick acted: one it terminated is still listed, its end this tick.
      this.lives.set(n.id, { node: n, ...(terminated.includes(n.id) ? { terminatedAt: at } : {}) });
      const key = `${market(n)}/${n.instanceType}`;
      nodesByType[key] = (nodesByType[key] ?? 0) + 1;
      const type = this.o.typeOf(n.instanceType);
      cores = { used: cores.used + (n.used?.cores ?? 0), total: cores.total + (type?.cores ?? 0) };
      memoryBytes = {
        used: memoryBytes.used + (n.used?.memoryBytes ?? 0),
        total: memoryBytes.total + (type?.memoryBytes ?? 0),
      };
    }
    this.samples.push({
      time: iso(at),
      nodes: nodes.length,
      nodesByType,
      cores,
      memoryBytes,
      jobs: { queued: jobs.queued, running: jobs.running },
      hourlyCostDollars: round(nodes.reduce((sum, n) => sum + n.pricePerHour, 0)),
    });
  }

  /**
   * Writes the file. `released`: the run's nodes were terminated as it stopped (not --keepNodes),
   * so those still live at the last tick ended at `at`. Returns the file's path.
   */
  write(at: number, outcome: string, costDollars: number, released: boolean): string {
    const file: ClusterStatsFile = {
      format: 1,
      clusterName: this.o.clusterName,
      startedAt: iso(this.o.startedAt),
      endedAt: iso(at),
      outcome,
      costDollars: round(costDollars),
      nodes: [...this.lives.values()].map((l) => this.nodeOf(l, at, released)),
      samples: this.samples,
    };
    writeFileSync(this.o.path, `${JSON.stringify(file, null, 1)}\n`);
    return this.o.path;
  }

  private nodeOf({ node: n, terminatedAt }: NodeLife, endedAt: number, released: boolean): ClusterStatsNode {
    const ended = terminatedAt ?? (released && !n.static ? endedAt : undefined);
    const type = this.o.typeOf(n.instanceType);
    const priced = n.priceSource !== 'unknown';
    // A static worker was there before the run and stays after it: its cost while the run used it.
    const from = n.static ? Math.max(n.launchedAt, this.o.startedAt) : n.launchedAt;
    const seconds = Math.max(((ended ?? endedAt) - from) / 1000, n.static ? 0 : this.o.billingMinimumSeconds);
    return {
      id: n.id,
      instanceType: n.instanceType,
      zone: n.zone,
      market: market(n),
      ...(n.static ? { static: true as const } : {}),
      launchedAt: iso(n.launchedAt),
      ...(n.registeredAt !== undefined ? { registeredAt: iso(n.registeredAt) } : {}),
      ...(ended !== undefined ? { terminatedAt: iso(ended) } : {}),
      pricePerHour: priced ? n.pricePerHour : null,
      costDollars: priced ? round((n.pricePerHour * seconds) / 3600) : null,
      cores: type?.cores ?? null,
      memoryBytes: type?.memoryBytes ?? null,
    };
  }
}

const market = (n: ObservedNode): 'spot' | 'on-demand' => (n.capacityType === 'spot' ? 'spot' : 'on-demand');
const iso = (ms: number): string => new Date(ms).toISOString();
const round = (dollars: number): number => Math.round(dollars * 1e6) / 1e6;

/**
 * Where `--clusterStats [DIR]` writes: Toil's name, `<clusterName>-stats<NNN>.json` in DIR (the
 * current directory when none is given), NNN the first of 000, 001, … not taken, so no earlier
 * run's file is overwritten; a path ending in `.json` that is not a directory is the file itself.
 * A DIR that is not a writable directory refuses the run before it starts (exit 2).
 */
export function clusterStatsPath(given: string | true, clusterName: string): string {
  const target = resolve(given === true ? '.' : given);
  if (typeof given === 'string' && given.endsWith('.json') && !isDirectory(target)) {
    const dir = resolve(target, '..');
    checkWritableDir(dir, given);
    return target;
  }
  checkWritableDir(target, given === true ? '' : given);
  for (let n = 0; ; n++) {
    const path = join(target, `${clusterName}-stats${String(n).padStart(3, '0')}.json`);
    if (!existsSync(path)) return path;
  }
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function checkWritableDir(dir: string, given: string): void {
  const why = !existsSync(dir) ? 'ENOENT' : !isDirectory(dir) ? 'not a directory' : writable(dir);
  if (why)
    throw new UserInputError(
      'BAD_FLAG',
      `--clusterStats ${given}: cannot write the statistics file there (${why}); expected a writable directory, or a path ending in .json in one`,
    );
}

function writable(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'not writable';
  }
}
