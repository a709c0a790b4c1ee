import type { ExistingNode, ScalingPlan } from '../types.js';

/**
 * Whether the scaler is adding room for work that waits to start: a node it launched is still
 * booting, or its last plan launches one. The leader asks it before it counts a state where every
 * running job is a service toward --deadlockWait: on an autoscaled cluster the room the waiting
 * jobs need may be minutes away (an EC2 boot), which is no deadlock. Once the plan launches
 * nothing (maxNodes, limits, a budget, nothing fits) and nothing boots, no room is coming.
 */
export function roomOnItsWay(
  nodes: readonly Pick<ExistingNode, 'state'>[],
  lastPlan: Pick<ScalingPlan, 'launch'> | undefined,
): boolean {
  if (nodes.some((n) => n.state === 'booting')) return true;
  return (lastPlan?.launch ?? []).some((l) => l.count > 0);
}
