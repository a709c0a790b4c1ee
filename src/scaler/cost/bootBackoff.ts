import { offeringKey } from '../offerings.js';
import type { BootFailureRun, ExistingNode, OfferingState, ScalingSnapshot } from '../types.js';

/** The key of the cluster-wide run of boot failures in `ScalerState.bootFailures`. */
export const CLUSTER = '*';

/**
 * Failures in a row before an offering is backed off. One alone is the weather (the corpus's 3 %
 * of boots); two in a row of the same offering are its AMI, its user data, its subnet.
 */
export const OFFERING_THRESHOLD = 2;
/** Failures in a row over the whole cluster, with no node registering between, before every offering is backed off. */
export const CLUSTER_THRESHOLD = 4;
/** The first backoff; each further failure doubles it, up to MAX_BACKOFF_MS (cluster-autoscaler's node-group backoff grows the same way). */
export const BASE_BACKOFF_MS = 5 * 60_000;
export const MAX_BACKOFF_MS = 60 * 60_000;
/**
 * A run of failures with no new one for this long is forgotten: longer than the longest backoff
 * and the relaunch's boot after it, so the backoff of a failing offering stays at its longest.
 */
function forgetAfterMs(bootTimeoutSeconds: number): number {
  return MAX_BACKOFF_MS + 2 * bootTimeoutSeconds * 1000;
}

/**
 * The runs of boot failures after this tick: `failed` are the nodes this plan terminates for never
 * registering within bootTimeout. Pure: the runs travel in the plan's state.
 */
export function trackBootFailures(
  previous: Readonly<Record<string, BootFailureRun>> | undefined,
  nodes: readonly ExistingNode[],
  failed: readonly ExistingNode[],
  now: number,
  bootTimeoutSeconds: number,
): Record<string, BootFailureRun> {
  const runs: Record<string, BootFailureRun> = {};
  const registeredSince = (at: number, key?: string): boolean =>
    nodes.some(
      (n) =>
        n.registeredAt !== undefined &&
        n.registeredAt >= at &&
        (key === undefined || offeringKey(n.instanceType, n.zone, n.capacityType) === key),
    );
  for (const [key, run] of Object.entries(previous ?? {})) {
    if (now - run.lastAt > forgetAfterMs(bootTimeoutSeconds)) continue;
    if (registeredSince(run.lastAt, key === CLUSTER ? undefined : key)) continue;
    runs[key] = run;
  }
  const add = (key: string, n: ExistingNode): void => {
    const run = runs[key];
    if (run && n.launchedAt <= run.lastLaunchAt) return;
    runs[key] = {
      count: (run?.count ?? 0) + 1,
      lastAt: now,
      lastLaunchAt: Math.max(run?.lastLaunchAt ?? 0, n.launchedAt),
    };
  };
  // Oldest first, so that each is counted once against lastLaunchAt.
  for (const n of [...failed].sort((a, b) => a.launchedAt - b.launchedAt)) {
    add(offeringKey(n.instanceType, n.zone, n.capacityType), n);
    add(CLUSTER, n);
  }
  return runs;
}

/** When the backoff a run of failures earns ends (ms), or undefined below its threshold. */
export function backoffUntil(key: string, run: BootFailureRun): number | undefined {
  const threshold = key === CLUSTER ? CLUSTER_THRESHOLD : OFFERING_THRESHOLD;
  if (run.count < threshold) return undefined;
  return run.lastAt + Math.min(BASE_BACKOFF_MS * 2 ** (run.count - threshold), MAX_BACKOFF_MS);
}

/** What to look at when nodes boot but never join. */
export const BOOT_FAILURE_HINT = 'check the image, the user data and that workers reach the master';

/**
 * What a run of failures holds back, and until when. Short: with the hint and a job count it is a
 * waiting reason, and a log field is cut at 300 characters.
 */
export function backoffReason(key: string, run: BootFailureRun, until: number): string {
  const at = new Date(until).toISOString();
  return key === CLUSTER
    ? `${run.count} nodes in a row never registered: no node is launched until ${at}`
    : `${run.count} nodes of ${key} in a row never registered: none is launched there until ${at}`;
}

/**
 * The snapshot with the offerings the runs back off marked unavailable until the backoff ends,
 * with its reason (a later capacity backoff is kept as it is).
 */
export function withBootBackoffs(
  snapshot: ScalingSnapshot,
  runs: Readonly<Record<string, BootFailureRun>>,
  offeringKeys: readonly {
    key: string;
    instanceType: string;
    zone: string;
    capacityType: OfferingState['capacityType'];
  }[],
): ScalingSnapshot {
  const now = snapshot.now;
  const blocked = new Map<string, { until: number; because: string }>();
  const cluster = runs[CLUSTER];
  const clusterUntil = cluster ? backoffUntil(CLUSTER, cluster) : undefined;
  for (const o of offeringKeys) {
    const run = runs[o.key];
    const candidates: { until: number; because: string }[] = [];
    // The cluster's first: of two ending together, it says more.
    if (cluster && clusterUntil !== undefined && clusterUntil > now)
      candidates.push({ until: clusterUntil, because: backoffReason(CLUSTER, cluster, clusterUntil) });
    const own = run ? backoffUntil(o.key, run) : undefined;
    if (run && own !== undefined && own > now)
      candidates.push({ until: own, because: backoffReason(o.key, run, own) });
    const latest = candidates.sort((a, b) => b.until - a.until)[0];
    if (latest) blocked.set(o.key, { ...latest, because: `${latest.because} (${BOOT_FAILURE_HINT})` });
  }
  if (blocked.size === 0) return snapshot;
  const seen = new Set<string>();
  const offerings: OfferingState[] = (snapshot.offerings ?? []).map((o) => {
    const key = offeringKey(o.instanceType, o.zone, o.capacityType);
    seen.add(key);
    const b = blocked.get(key);
    if (!b || (o.unavailableUntil !== undefined && o.unavailableUntil >= b.until)) return o;
    return { ...o, unavailableUntil: b.until, unavailableBecause: b.because };
  });
  for (const o of offeringKeys) {
    const b = blocked.get(o.key);
    if (b && !seen.has(o.key))
      offerings.push({
        instanceType: o.instanceType,
        zone: o.zone,
        capacityType: o.capacityType,
        unavailableUntil: b.until,
        unavailableBecause: b.because,
      });
  }
  return { ...snapshot, offerings };
}

/** Whether a backoff after nodes that never registered is still running at `now` (ms). */
export function bootBackoffPending(
  runs: Readonly<Record<string, BootFailureRun>> | undefined,
  now: number,
): boolean {
  return Object.entries(runs ?? {}).some(([key, run]) => (backoffUntil(key, run) ?? 0) > now);
}

/** One run of nodes that never registered, as an operator reads it (/status, /metrics). */
export interface BootBackoffView {
  /** An offering (`type/zone/market`), or `*` for the whole cluster. */
  readonly offering: string;
  /** Nodes in a row that booted and never registered. */
  readonly neverRegisteredInARow: number;
  /** When the last of them was found past bootTimeout (ms). */
  readonly lastAt: number;
  /** While launches there are held back: when that ends (ms). */
  readonly backedOffUntil?: number;
}

/**
 * The runs an operator should see: every run still counted, the cluster's first, then by offering.
 * A run below its threshold is shown too (one more failure backs it off).
 */
export function bootBackoffViews(
  runs: Readonly<Record<string, BootFailureRun>> | undefined,
  now: number,
): BootBackoffView[] {
  return Object.entries(runs ?? {})
    .sort(([a], [b]) => (a === CLUSTER ? -1 : b === CLUSTER ? 1 : a.localeCompare(b)))
    .map(([offering, run]) => {
      const until = backoffUntil(offering, run);
      return {
        offering,
        neverRegisteredInARow: run.count,
        lastAt: run.lastAt,
        ...(until !== undefined && until > now ? { backedOffUntil: until } : {}),
      };
    });
}
