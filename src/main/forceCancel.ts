import { coerceError } from '../common/errors.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { MesosHttpError } from '../mesos/http.js';
import { MesosMasterClient } from '../mesos/masterClient.js';
import { isTerminalTaskState } from '../mesos/types.js';

/**
 * What `toil kill --force` did about the jobs a SIGKILLed leader had running in its batch system:
 * one line for the user, and whether everything of the workflow is known to be stopped.
 */
export interface CancelReport {
  readonly batchSystem: string;
  readonly ok: boolean;
  readonly line: string;
}

/**
 * A leader killed with SIGKILL cannot kill its jobs: on a cluster they run on as children of the
 * agents, keeping nodes busy and billed. The framework the leader subscribed with (kept in the job
 * store with its master) is torn down through the master's operator API, which kills every task
 * of it on every agent. Undefined when the workflow never ran on Mesos.
 */
export async function cancelMesosFramework(
  store: JobStore,
  options: { timeoutMs?: number } = {},
): Promise<CancelReport | undefined> {
  const record = await store.readMesosFramework();
  if (!record) return undefined;
  const { frameworkId, master } = record;
  const report = (ok: boolean, line: string): CancelReport => ({ batchSystem: 'mesos', ok, line });
  if (master === undefined)
    return report(
      false,
      `toil: --force: the job store names Mesos framework ${frameworkId} but not its master, so it was not torn down: its tasks may still be running`,
    );
  const client = new MesosMasterClient(master, { timeoutMs: options.timeoutMs ?? 15_000 });
  const notThere = report(
    true,
    `toil: --force: Mesos framework ${frameworkId} is not registered with the master at ${master}: no task of it runs there`,
  );
  try {
    const state = await client.state();
    const framework = state.frameworks.find((f) => f.id === frameworkId);
    if (!framework) return notThere;
    const live = framework.tasks.filter((t) => !isTerminalTaskState(t.state)).length;
    try {
      await client.teardownFramework(frameworkId);
    } catch (e) {
      // Removed between the two calls (its failover timeout, another kill): nothing of it runs.
      if (e instanceof MesosHttpError && e.status === 400 && /No framework found/i.test(e.body))
        return notThere;
      throw e;
    }
    return report(
      true,
      `toil: --force: cancelled ${live} running task(s) of framework ${frameworkId} on the Mesos master at ${master} (framework torn down)`,
    );
  } catch (e) {
    return report(
      false,
      `toil: --force: could not tear down Mesos framework ${frameworkId} at the master at ${master} (${coerceError(e).message}): ` +
        `its tasks may still be running on that cluster's agents`,
    );
  }
}

/**
 * Cancels what a dead leader left running in each cluster batch system the workflow used, one
 * report per batch system (none for single_machine, whose workers exit with their leader).
 */
export async function cancelLeftJobs(store: JobStore): Promise<CancelReport[]> {
  const reports: CancelReport[] = [];
  const mesos = await cancelMesosFramework(store);
  if (mesos) reports.push(mesos);
  return reports;
}
