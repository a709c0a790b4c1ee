/**
 * Slurm jobs that wait in the queue for a reason that will not clear by itself. Slurm keeps such
 * a job PENDING for ever (its reason in `squeue`), and so would the workflow, in silence: this
 * says which reasons mean that and what the user can do about each.
 */
import type { JobRequirements } from '../ports/batchSystem.js';
import type { SlurmJob, SlurmNode } from './json.js';

/** How long a job may wait for such a reason before the user is told (once per job). */
export const DEFAULT_STUCK_PENDING_WARN_MS = 30_000;

/** Reasons that only a change to Slurm or to the request clears, with what to do about them. */
const NEEDS_A_CHANGE: readonly [RegExp, string][] = [
  [
    /^BadConstraints$/,
    'no node has the features it asks for: check --constraint in TOIL_SLURM_ARGS, and sinfo -o "%N %f"',
  ],
  [
    /^Partition(Config|NodeLimit|TimeLimit|Down|Inactive)$/,
    "its partition's limits or state refuse it (scontrol show partition): name another with --slurmPartition, or have the partition changed",
  ],
  [
    /^(InvalidAccount|InvalidQOS|QOS.*PerJob.*|AssocMax.*PerJob.*)$/,
    "Slurm's accounting refuses its account or QOS, or a per-job limit of them: fix --slurmQOS or the account in TOIL_SLURM_ARGS",
  ],
  [/^JobHeld(Admin|User)$/, "it is held: 'scontrol release SLURM_JOB_ID' lets it run"],
  [/^DependencyNeverSatisfied$/, 'a dependency given in TOIL_SLURM_ARGS can never be met'],
];

/**
 * Reasons of a job waiting for a node: normal while the cluster is busy, stuck when no node that
 * is up could ever take the request (the nodes that could are down or drained, or none is big
 * enough).
 */
const WAITING_FOR_A_NODE = /^(Resources|Priority|ReqNodeNotAvail|NodeDown|None|)$/;

const MB = 2 ** 20;

/**
 * What to tell the user about a job pending for `job.reason`, or undefined when the reason is one
 * that clears by itself (a busy cluster, a dependency, a begin time, a job limit that running
 * jobs will free).
 */
export function stuckPendingAdvice(
  job: Pick<SlurmJob, 'jobId' | 'reason' | 'reasonDescription'>,
  request: JobRequirements,
  onDemandFeature: string,
  nodes: readonly SlurmNode[],
  options: { readonly nodesJoinOnDemand: boolean },
): string | undefined {
  for (const [pattern, advice] of NEEDS_A_CHANGE)
    if (pattern.test(job.reason)) return advice.replace('SLURM_JOB_ID', String(job.jobId));
  // Where the scaler launches nodes for waiting jobs, waiting for one is its business.
  if (options.nodesJoinOnDemand || !WAITING_FOR_A_NODE.test(job.reason)) return undefined;
  const feature = request.preemptable ? '' : onDemandFeature;
  const fits = (n: SlurmNode): boolean =>
    n.cpus >= request.cores &&
    n.memoryMb * MB >= request.memory &&
    n.tmpDiskMb * MB >= request.disk &&
    (feature === '' || n.features.includes(feature));
  const up = (n: SlurmNode): boolean =>
    !['down', 'future', 'unknown'].includes(n.state) &&
    !n.flags.some((f) => f === 'DRAIN' || f === 'NOT_RESPONDING');
  if (nodes.some((n) => up(n) && fits(n))) return undefined;
  const asked = `${request.cores} cores, ${Math.ceil(request.memory / MB)} MiB memory, ${Math.ceil(request.disk / MB)} MiB disk${feature ? `, feature ${feature}` : ''}`;
  const unavailable = nodes.filter((n) => !up(n) && fits(n));
  if (unavailable.length > 0) {
    const names = unavailable.map((n) => `${n.name} (${whyUnavailable(n)})`);
    return `the nodes that could take its request (${asked}) are down or drained: ${names.join(', ')}; resume one ('scontrol update nodename=${unavailable[0]!.name} state=resume') or add a node that can take it`;
  }
  return `no node of the cluster can take its request (${asked}): add a node that can, or stop the run and lower the job's requirements`;
}

/** `down`, `drained: maintenance`, `not responding`: why a node takes no job, with Slurm's reason. */
function whyUnavailable(n: SlurmNode): string {
  const what = n.flags.includes('DRAIN')
    ? 'drained'
    : n.flags.includes('NOT_RESPONDING')
      ? 'not responding'
      : n.state;
  return n.reason ? `${what}: ${n.reason}` : what;
}
