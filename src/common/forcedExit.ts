import { processAlive } from './processIdentity.js';

/**
 * What a process that exits at once (a second Ctrl-C) still does first, synchronously, its event
 * loop running no more: the run's parts register what they own here while they run. The process
 * ends first what it started, then removes the files those processes wrote in: a leader's worker
 * killed with it would otherwise leave its job's scratch under the work directory for good.
 */

/**
 * Kills processes of this run at once; returns their pids, to wait for their end: its workers,
 * and what its jobs started outside them (a setsid'd tool, which the kill of a worker's process
 * group misses).
 */
type Kill = () => { readonly workers: readonly number[]; readonly strays: readonly number[] };
/**
 * Removes files of this run once its processes are gone (`killed`: the pids the kills ended);
 * returns what it left and where (one clause each), none when it removed everything.
 */
type Removal = (deadline: number, killed: ReadonlySet<number>) => readonly string[];

const kills = new Set<Kill>();
const removals = new Set<Removal>();

/** How long a forced exit waits for the processes it killed, and spends removing files, at most. */
export const FORCED_EXIT_CLEANUP_MS = 2_000;

/** Adds `item` to `registry` until the function returned is called. */
function registered<T>(registry: Set<T>, item: T): () => void {
  registry.add(item);
  return () => void registry.delete(item);
}

/** Registers `kill` until the function returned is called. */
export function onForcedExitKill(kill: Kill): () => void {
  return registered(kills, kill);
}

/** Registers `removal` until the function returned is called. */
export function onForcedExitRemoval(removal: Removal): () => void {
  return registered(removals, removal);
}

/** What a forced exit's cleanup did: the processes it killed, and what it left, and where. */
export interface ForcedExitCleanup {
  /** Workers killed. */
  readonly killed: number;
  /** Processes the run's jobs left running outside their workers, killed. */
  readonly strays: number;
  readonly left: readonly string[];
}

/**
 * Runs every registered kill, waits (up to FORCED_EXIT_CLEANUP_MS in all) for the processes they
 * killed to end, then every registered removal.
 */
export function forcedExitCleanup(now: () => number = Date.now): ForcedExitCleanup {
  const deadline = now() + FORCED_EXIT_CLEANUP_MS;
  const done = [...kills].map((kill) => safely(kill, { workers: [], strays: [] }));
  const workers = new Set(done.flatMap((d) => d.workers));
  const strays = new Set(done.flatMap((d) => d.strays).filter((pid) => !workers.has(pid)));
  const killed = new Set([...workers, ...strays]);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while ([...killed].some((pid) => processAlive(pid)) && now() < deadline) Atomics.wait(pause, 0, 0, 10);
  const left = [...removals].flatMap((removal) => safely(() => removal(deadline, killed), []));
  return { killed: workers.size, strays: strays.size, left };
}

/** `f()`, or `fallback` if it throws: one part that fails must not keep the others from their cleanup. */
function safely<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/**
 * Gives up what another process waits for (a job store's lease, which a leader on another machine
 * would otherwise wait out): `release` resolves true once done; `left` names what stays held (one
 * clause) when it resolves false, throws or takes too long.
 */
export interface ForcedExitRelease {
  readonly release: () => Promise<boolean>;
  readonly left: () => string;
}

const releases = new Set<ForcedExitRelease>();

/**
 * How long a forced exit waits for its releases after its cleanup, at most: a write to the job
 * store, a few milliseconds when it answers, not worth the exit a stalled one would hold.
 */
export const FORCED_EXIT_RELEASE_MS = 1_000;

/** Registers `release` until the function returned is called. */
export function onForcedExitRelease(release: ForcedExitRelease): () => void {
  return registered(releases, release);
}

/** What a forced exit's releases did: how many were released, and what stays held (one clause each). */
export interface ForcedExitReleased {
  readonly released: number;
  readonly left: readonly string[];
}

/**
 * Runs every registered release at once, each given FORCED_EXIT_RELEASE_MS at most: unlike the
 * cleanup, a release is a write over the network, so it runs on the event loop, after the kills.
 */
export async function forcedExitReleases(ms: number = FORCED_EXIT_RELEASE_MS): Promise<ForcedExitReleased> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const all = [...releases];
  const done = await Promise.all(all.map((r) => Promise.race([r.release().catch(() => false), late])));
  clearTimeout(timer);
  return {
    released: done.filter(Boolean).length,
    left: all
      .filter((_, i) => !done[i])
      .map((r) => safely(r.left, 'a release that could not say what it held')),
  };
}
