import type { Logger } from '../../common/log.js';
import type { ScalingPlan } from '../types.js';

/**
 * The `scaling plan` log line, written at info only when the plan differs from the last one
 * written: a daemon idling for a week would otherwise log the same line every tick, burying the
 * decisions that matter. An unchanged plan is logged at debug, a heartbeat for whoever wants it.
 */
export class PlanLog {
  private readonly log: Logger;
  private last: string | undefined;

  constructor(log: Logger) {
    this.log = log;
  }

  write(plan: ScalingPlan): void {
    const summary = {
      launch: plan.launch.map((l) => `${l.count}×${l.instanceType}/${l.capacityType}/${l.zone}`),
      drain: plan.drain.length,
      undrain: plan.undrain.length,
      terminate: plan.terminate.length,
      waiting: plan.waiting.map((w) => `${w.count} ${w.jobName}: ${w.reason}`).slice(0, 5),
      hourlyCost: plan.hourlyCost,
    };
    const key = JSON.stringify(summary);
    if (key === this.last) {
      this.log.debug(summary, 'scaling plan unchanged');
      return;
    }
    this.last = key;
    this.log.info(summary, 'scaling plan');
  }
}
