import type { RuntimeHistory, RuntimeStats } from './types.js';

/** How many recent runtimes per job name are kept (bounded memory, follows workflow phases). */
export const RECENT_WINDOW = 32;
/** The percentile of recent runtimes a queued job is assumed to take. */
export const RUNTIME_PERCENTILE = 0.75;
/** Toil's runtime for a job with no history at all (the cause of #1874 and #3406). */
export const TOIL_COLD_START_SECONDS = 1;

export type RuntimeSource = 'declared' | 'learned' | 'default' | 'service';

export interface RuntimeEstimate {
  readonly seconds: number;
  readonly source: RuntimeSource;
}

export function emptyRuntimeHistory(): RuntimeHistory {
  return { byName: {}, total: { count: 0, sumSeconds: 0 } };
}

/**
 * How many job names the history keeps, those completed most recently: a name seen once (one
 * holding a sample's id) is forgotten once this many others have completed since, so the tick
 * state, saved at every tick, does not grow with the runs a leader has seen.
 */
export const MAX_RUNTIME_NAMES = 1_000;

/**
 * The history with these completions, in order. Returns a new object (the old one is untouched),
 * so the leader can persist either. Each completed name becomes the newest; past
 * MAX_RUNTIME_NAMES, the names completed longest ago (by `lastCompletion`) are dropped (`total`
 * keeps counting them). The names are copied once per call, not once per completion: a tick
 * learns many at once.
 */
export function recordCompletions(
  history: RuntimeHistory,
  completions: readonly { readonly name: string; readonly seconds: number }[],
): RuntimeHistory {
  const byName: Record<string, RuntimeStats> = { ...history.byName };
  let { count, sumSeconds } = history.total;
  for (const { name, seconds } of completions) {
    const s = Math.max(0, seconds);
    const prev = byName[name];
    const recent = prev ? [...prev.recent, s] : [s];
    if (recent.length > RECENT_WINDOW) recent.splice(0, recent.length - RECENT_WINDOW);
    count += 1;
    sumSeconds += s;
    byName[name] = {
      count: (prev?.count ?? 0) + 1,
      sumSeconds: (prev?.sumSeconds ?? 0) + s,
      recent,
      lastCompletion: count,
    };
  }
  // Recency is the stamp, not the keys' order: an object lists integer-like keys ('42') first,
  // so a job named by a number would read as the oldest.
  const names = Object.keys(byName);
  if (names.length > MAX_RUNTIME_NAMES) {
    names.sort((a, b) => (byName[a]!.lastCompletion ?? 0) - (byName[b]!.lastCompletion ?? 0));
    for (const old of names.slice(0, names.length - MAX_RUNTIME_NAMES)) delete byName[old];
  }
  return { byName, total: { count, sumSeconds } };
}

/** The history with one more completion (recordCompletions of one). */
export function recordCompletion(history: RuntimeHistory, name: string, seconds: number): RuntimeHistory {
  return recordCompletions(history, [{ name, seconds }]);
}

/**
 * The runtime the cost policy plans with. A declared walltime wins. Otherwise the 75th percentile
 * of the name's last 32 runtimes: runtimes are right-skewed, so packing by the mean leaves the
 * slower half of the jobs starting late, while a high percentile over a recent window keeps most
 * jobs within targetTime and follows a workflow whose inputs grow or shrink; it needs no tuning
 * and is plain data. With no history the job is assumed to take `unknownRuntimeSeconds`
 * (default: targetTime), so every unknown job is "worth a slot of its own" up to the limits
 * instead of Toil's 1 s, which packed a whole scatter onto one node (#1874, #3406).
 */
export function estimateRuntime(
  history: RuntimeHistory | undefined,
  job: { readonly name: string; readonly walltimeSeconds?: number; readonly service?: boolean },
  options: { readonly unknownRuntimeSeconds: number; readonly targetTimeSeconds: number },
): RuntimeEstimate {
  if (job.walltimeSeconds !== undefined && job.walltimeSeconds > 0)
    return { seconds: job.walltimeSeconds, source: 'declared' };
  if (job.service) return { seconds: options.targetTimeSeconds * 24 + 3600, source: 'service' };
  const stats = history?.byName[job.name];
  if (stats && stats.recent.length > 0)
    return { seconds: Math.max(1, percentile(stats.recent, RUNTIME_PERCENTILE)), source: 'learned' };
  return { seconds: Math.max(1, options.unknownRuntimeSeconds), source: 'default' };
}

/**
 * When a running job is expected to end, for counting on the room it frees. A declared walltime
 * is a limit, padded to be safe (the corpus pads by 10–60 %), not a forecast; the longest of the
 * name's recent runtimes is another limit, learned: no job of the name has run longer lately.
 * Room frees by the earlier of the two. A bound, not a percentile: a heavy-tailed name's long job
 * (which declared a long walltime) is not expected to end with its short ones. Without history
 * the walltime (or what `estimateRuntime` says) stands.
 */
export function expectedRuntime(
  history: RuntimeHistory | undefined,
  job: { readonly name: string; readonly walltimeSeconds?: number; readonly service?: boolean },
  options: { readonly unknownRuntimeSeconds: number; readonly targetTimeSeconds: number },
): RuntimeEstimate {
  const e = estimateRuntime(history, job, options);
  const recent = history?.byName[job.name]?.recent;
  if (e.source !== 'declared' || !recent || recent.length === 0) return e;
  const longest = Math.max(1, ...recent);
  return longest < e.seconds ? { seconds: longest, source: 'learned' } : e;
}

/**
 * Toil's `getAverageRuntime`: the all-time mean for the name, else the mean over every completed
 * job, else 1 s; services get targetTime × 24 + 3600 s. Declared walltimes are ignored.
 */
export function toilAverageRuntime(
  history: RuntimeHistory | undefined,
  job: { readonly name: string; readonly service?: boolean },
  targetTimeSeconds: number,
): number {
  if (job.service) return targetTimeSeconds * 24 + 3600;
  const stats = history?.byName[job.name];
  if (stats && stats.count > 0) return stats.sumSeconds / stats.count;
  if (history && history.total.count > 0) return history.total.sumSeconds / history.total.count;
  return TOIL_COLD_START_SECONDS;
}

/** Runtimes of a name needed before their spread is trusted. */
export const SPREAD_MIN_SAMPLES = 5;

/**
 * How much a name's runtimes vary: the coefficient of variation (standard deviation ÷ mean) of its
 * recent runtimes, or undefined with fewer than SPREAD_MIN_SAMPLES of them.
 */
export function runtimeSpread(history: RuntimeHistory | undefined, name: string): number | undefined {
  const recent = history?.byName[name]?.recent;
  if (!recent || recent.length < SPREAD_MIN_SAMPLES) return undefined;
  const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
  if (mean <= 0) return undefined;
  const variance = recent.reduce((a, b) => a + (b - mean) ** 2, 0) / (recent.length - 1);
  return Math.sqrt(variance) / mean;
}

/**
 * A name's runtimes past `heldSeconds`, from its recent runtimes: the mean runtime and the mean
 * time a job runs beyond `heldSeconds` (E[(R − held)+]), or undefined with fewer than
 * SPREAD_MIN_SAMPLES of them. The sample stands for the distribution as it is: a heavy-tailed
 * name whose 75th percentile ends within `heldSeconds` still runs past it often and long.
 */
export function runtimeOverrun(
  history: RuntimeHistory | undefined,
  name: string,
  heldSeconds: number,
): { readonly meanSeconds: number; readonly overrunSeconds: number } | undefined {
  const recent = history?.byName[name]?.recent;
  if (!recent || recent.length < SPREAD_MIN_SAMPLES) return undefined;
  const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
  const overrun = recent.reduce((a, b) => a + Math.max(0, b - heldSeconds), 0) / recent.length;
  return { meanSeconds: mean, overrunSeconds: overrun };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[idx]!;
}
