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
  return policy === 'toil-classic' ? planClassic(snapshot, config) : planCost(snapshot, config);
}
