import { planClassic } from './classic/plan.js';
import type { ScalerConfig } from './config.js';
import { planCost } from './cost/plan.js';
import type { PolicyName, ScalingPlan, ScalingSnapshot } from './types.js';

export const POLICIES: readonly PolicyName[] = ['cost', 'toil-classic'];

/**
 * The scaler's decision for one tick: a pure function of the snapshot (which carries `now` and
 * the previous tick's state) and the config. `policy` overrides `config.policy`, so every
 * comparison can run both on the same input.
 */
export function planScaling(
  snapshot: ScalingSnapshot,
  config: ScalerConfig,
  policy: PolicyName = config.policy,
): ScalingPlan {
  const plan = policy === 'toil-classic' ? planClassic(snapshot, config) : planCost(snapshot, config);
  const moved = onDemandNotes(snapshot);
  return moved.length > 0 ? { ...plan, notes: [...plan.notes, ...moved] } : plan;
}

/**
 * Jobs that may run on spot but are planned (queued) or run on on-demand because the leader moved
 * them there (lost with spot nodes too often), one note per name and reason: a person reading the
 * plan sees why on-demand is paid for work that spot could run.
 */
export function onDemandNotes(snapshot: Pick<ScalingSnapshot, 'queued' | 'running'>): string[] {
  const groups = new Map<string, { name: string; because: string; queued: number; running: number }>();
  const add = (job: { name: string; onDemandBecause?: string }, queued: number, running: number): void => {
    if (!job.onDemandBecause) return;
    const key = `${job.name}\n${job.onDemandBecause}`;
    const g = groups.get(key) ?? { name: job.name, because: job.onDemandBecause, queued: 0, running: 0 };
    g.queued += queued;
    g.running += running;
    groups.set(key, g);
  };
  for (const q of snapshot.queued) add(q, q.count ?? 1, 0);
  for (const r of snapshot.running) add(r, 0, 1);
  return [...groups.values()].map((g) => {
    const n = g.queued + g.running;
    const where = [g.queued ? `${g.queued} queued` : '', g.running ? `${g.running} running` : '']
      .filter(Boolean)
      .join(', ');
    return `${n === 1 ? 'job' : `${n} jobs`} '${g.name}' (${where}) moved to on-demand: ${g.because}`;
  });
}
