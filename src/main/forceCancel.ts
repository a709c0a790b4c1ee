import { coerceError } from '../common/errors.js';
import { pathExists } from '../common/pathExists.js';
import { CorruptJobStoreError, ticketKey, type JobStore } from '../jobstore/jobStore.js';
import { MesosHttpError } from '../mesos/http.js';
import { MesosMasterClient } from '../mesos/masterClient.js';
import { isTerminalTaskState } from '../mesos/types.js';
import { ENDED_STATES } from '../slurm/batchSystem.js';
import { SlurmCli } from '../slurm/cli.js';
import { parseAttemptComment } from '../slurm/jobScript.js';

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
 * of it on every agent. Undefined when the workflow never ran on Mesos. Its line names `by`, what
 * the user ran.
 */
export async function cancelMesosFramework(
  store: JobStore,
  options: { timeoutMs?: number } = {},
  by = '--force',
): Promise<CancelReport | undefined> {
  const record = await store.readMesosFramework();
  if (!record) return undefined;
  const { frameworkId, master } = record;
  const report = (ok: boolean, line: string): CancelReport => ({ batchSystem: 'mesos', ok, line });
  if (master === undefined)
    return report(
      false,
      `toil: ${by}: the job store names Mesos framework ${frameworkId} but not its master, so it was not torn down: its tasks may still be running`,
    );
  const client = new MesosMasterClient(master, { timeoutMs: options.timeoutMs ?? 15_000 });
  const notThere = report(
    true,
    `toil: ${by}: Mesos framework ${frameworkId} is not registered with the master at ${master}: no task of it runs there`,
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
      `toil: ${by}: cancelled ${live} running task(s) of framework ${frameworkId} on the Mesos master at ${master} (framework torn down)`,
    );
  } catch (e) {
    return report(
      false,
      `toil: ${by}: could not tear down Mesos framework ${frameworkId} at the master at ${master} (${coerceError(e).message}): ` +
        `its tasks may still be running on that cluster's agents`,
    );
  }
}

/**
 * The Slurm side: each attempt is a batch job whose comment names its job (`toil:<jobId>:<attempt>`,
 * src/slurm/jobScript.ts), and job ids are random, so a queued or running Slurm job whose job has a
 * ticket in this store is this workflow's, and only those are cancelled (`scancel`), in the cluster
 * the leader recorded (its slurm.conf). Undefined when the workflow never ran on Slurm. Its line
 * names `by`, what the user ran.
 */
export async function cancelSlurmJobs(
  store: JobStore,
  options: { timeoutMs?: number } = {},
  by = '--force',
): Promise<CancelReport | undefined> {
  const left = await cancelWorkflowSlurmJobs(store, options);
  if (!left) return undefined;
  const { cluster, ours, failed, error } = left;
  const report = (ok: boolean, line: string): CancelReport => ({ batchSystem: 'slurm', ok, line });
  if (error && ours === undefined)
    return report(
      false,
      `toil: ${by}: could not list the workflow's Slurm jobs in ${cluster} (${error.message.trim()}): ` +
        'its jobs may still be queued or running',
    );
  if (ours!.length === 0)
    return report(true, `toil: ${by}: no Slurm job of the workflow is queued or running in ${cluster}`);
  if (failed.length > 0)
    return report(
      false,
      `toil: ${by}: could not cancel ${failed.length} of the workflow's ${ours!.length} Slurm job(s) in ${cluster} ` +
        `(${error!.message.trim()}): job(s) ${failed.join(', ')} may still be queued or running`,
    );
  return report(
    true,
    `toil: ${by}: cancelled ${ours!.length} queued or running Slurm job(s) of the workflow in ${cluster}: ${ours!.join(', ')}`,
  );
}

/** What cancelWorkflowSlurmJobs found and did. */
export interface SlurmJobsCancelled {
  /** The cluster, in words ("the Slurm cluster of /etc/slurm/slurm.conf"). */
  readonly cluster: string;
  /** The workflow's queued or running Slurm job ids; undefined when they could not be listed. */
  readonly ours: readonly number[] | undefined;
  /** Those scancel refused. */
  readonly failed: readonly number[];
  /** Why listing or cancelling failed. */
  readonly error?: Error;
}

/**
 * Cancels every queued or running Slurm job of the workflow in the cluster its leader recorded:
 * `toil kill --force` after a SIGKILLed leader, and a `--restart` before it submits anything
 * (the dead leader's attempts would otherwise hold the nodes its own wait for). Undefined when
 * the workflow never ran on Slurm. `use` is the cluster recorded, when the caller read it before
 * recording its own.
 */
export async function cancelWorkflowSlurmJobs(
  store: JobStore,
  options: { timeoutMs?: number; use?: { conf?: string } } = {},
): Promise<SlurmJobsCancelled | undefined> {
  const use = options.use ?? (await store.readSlurmUse());
  if (!use) return undefined;
  const cluster = use.conf ? `the Slurm cluster of ${use.conf}` : "this machine's Slurm cluster";
  // Slurm's tools retry a slurm.conf that is not there for a minute: a leader resuming the run
  // waited 30 s on the conf of a local cloud's controller, removed with it after a kill -9.
  if (use.conf !== undefined && !(await pathExists(use.conf)))
    return {
      cluster,
      ours: undefined,
      failed: [],
      error: new Error(`its slurm.conf ${use.conf} does not exist here`),
    };
  const cli = new SlurmCli({
    ...(use.conf ? { conf: use.conf } : {}),
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  const ours: number[] = [];
  try {
    for (const job of await cli.jobs()) {
      const attempt = parseAttemptComment(job.comment);
      // COMPLETING: its work is done, only its node's clean-up is left.
      if (!attempt || ENDED_STATES.has(job.state) || job.state === 'COMPLETING') continue;
      if (await store.objects.head(ticketKey(attempt.jobId))) ours.push(job.jobId);
    }
  } catch (e) {
    return { cluster, ours: undefined, failed: [], error: coerceError(e) };
  }
  const results = await Promise.allSettled(ours.map((id) => cli.cancel(id)));
  const failed = ours.filter((_, i) => results[i]!.status === 'rejected');
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  return { cluster, ours, failed, ...(rejected ? { error: coerceError(rejected.reason) } : {}) };
}

/**
 * Cancels what a dead leader left running in each cluster batch system the workflow used, one
 * report per batch system (none for single_machine, whose workers exit with their leader). Its
 * lines name `by`, what the user ran (`toil kill --force`, `toil clean`).
 */
export async function cancelLeftJobs(store: JobStore, by = '--force'): Promise<CancelReport[]> {
  const reports: CancelReport[] = [];
  const mesos = await unlessRecordDamaged('mesos', by, 'Mesos tasks', () =>
    cancelMesosFramework(store, {}, by),
  );
  if (mesos) reports.push(mesos);
  const slurm = await unlessRecordDamaged('slurm', by, 'Slurm jobs', () => cancelSlurmJobs(store, {}, by));
  if (slurm) reports.push(slurm);
  return reports;
}

/**
 * The report of `cancel`, or, when the record naming where the jobs run is damaged, one saying
 * they were not cancelled: `toil clean` and `toil kill --force` go on (refusing would leave the
 * store that `toil clean` is the remedy for, and a killed leader's other jobs, as they are).
 */
async function unlessRecordDamaged(
  batchSystem: string,
  by: string,
  jobs: string,
  cancel: () => Promise<CancelReport | undefined>,
): Promise<CancelReport | undefined> {
  try {
    return await cancel();
  } catch (e) {
    if (!(e instanceof CorruptJobStoreError)) throw e;
    return {
      batchSystem,
      ok: false,
      line: `toil: ${by}: the workflow's ${jobs}, if any, were not cancelled and may still be queued or running: ${damagedRecord(e)}`,
    };
  }
}

/** The damaged object and what is wrong with it, as a line of a warning ends. */
export function damagedRecord(e: CorruptJobStoreError): string {
  return `${e.key === undefined ? '' : `object ${e.key} `}${e.reason}`;
}
