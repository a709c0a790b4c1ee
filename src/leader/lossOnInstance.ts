import type { JobUpdate } from '../ports/batchSystem.js';
import type { AgentInstance } from '../ports/provisioner.js';

/**
 * A job lost on an agent whose instance the scaler knows, said with that instance: its id (what
 * an operator looks up in EC2, where the batch system names its agent), type and market, and that
 * it was reclaimed when it had a spot interruption notice; the batch system's own reason follows
 * (`lost: spot instance i-… (t2.medium), reclaimed as its interruption notice said (due …Z): its
 * node 10.0.0.13 disconnected from the Mesos master`). Unchanged when the reason names the
 * instance already (the scaler's own, a node seen gone), or for another outcome.
 */
export function lossOnInstance(update: JobUpdate, instance: AgentInstance | undefined): JobUpdate {
  if (update.outcome !== 'lost' || !instance || update.message?.includes(instance.instanceId)) return update;
  const cause =
    instance.reclaimAt !== undefined
      ? `, reclaimed as its interruption notice said (due ${new Date(instance.reclaimAt).toISOString()})`
      : '';
  const said = (update.message ?? 'its node is gone').replace(/^lost: /, '');
  return {
    ...update,
    message: `lost: ${instance.market} instance ${instance.instanceId} (${instance.instanceType})${cause}: ${said}`,
  };
}
