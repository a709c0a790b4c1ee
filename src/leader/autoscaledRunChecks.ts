import { UserInputError } from '../common/errors.js';
import type { ScalerConfig } from '../scaler/config.js';
import { packableResources } from '../scaler/overhead.js';
import { planScaling } from '../scaler/policy.js';
import { rootVolumeSetting } from '../scaler/rootVolumes.js';
import { describeRequest, fitsResources, subtract } from '../scaler/shapes.js';
import type { QueuedJob, Resources } from '../scaler/types.js';
import { SCALER_FLAGS, type ScalerSettingNames } from './scalerSettingNames.js';

/** A job shape the workflow declares (its definition's requirements with the run's defaults applied). */
export interface DeclaredJob {
  readonly name: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly preemptable: boolean;
  /** A service: --defaultPreemptable does not reach it, only its own `preemptable: true` does. */
  readonly service?: boolean;
}

export class WorkflowWouldHangError extends UserInputError {
  constructor(message: string, details: Record<string, unknown>) {
    super('WORKFLOW_WOULD_HANG', message, details);
  }
}

/**
 * Refuses scaling flags under which a declared job could never run, before anything is launched.
 * Each job shape is planned alone on an empty cluster with the very policy the run will use: if
 * no allowed node type fits it (unschedulable), or the plan launches nothing for it (a limit, or
 * preemptable work with no spot capacity allowed and no compensation), the run would wait forever.
 * `jobs` come in the order the run would issue them: the message names the first that could never
 * run (the one the user meets first) with the flag to change, and how many others could not
 * either. Smoothing is off for the check (one tick of a lone job must launch). Throws
 * WorkflowWouldHangError (exit 2).
 */
export function checkScalingFlags(jobs: readonly DeclaredJob[], config: ScalerConfig): void {
  const check = checkedAs(config);
  const refusals = jobs.flatMap((job) => {
    const refusal = refusalOf(job, check, SCALER_FLAGS);
    return refusal ? [{ job, refusal }] : [];
  });
  const [first, ...others] = refusals;
  if (first)
    throw refusalCountingOthers(
      first.job,
      first.refusal,
      others.map((o) => o.job),
    );
}

/**
 * The refusal of the first job that could never run, counting and naming the `others` that could
 * not either (the first few; a name once), so a user fixes them all in one go.
 */
function refusalCountingOthers(
  first: DeclaredJob,
  { message, details }: Refusal,
  others: readonly DeclaredJob[],
): WorkflowWouldHangError {
  const names = [...new Set(others.map((o) => o.name).filter((n) => n !== first.name))];
  const othersToo =
    names.length === 0
      ? ''
      : `; ${names.length} other job${names.length > 1 ? 's' : ''} cannot run either: ` +
        names
          .slice(0, MAX_OTHERS_NAMED)
          .map((n) => `'${n}'`)
          .join(', ') +
        (names.length > MAX_OTHERS_NAMED ? ', …' : '');
  return new WorkflowWouldHangError(
    message + othersToo,
    names.length > 0 ? { ...details, others: names } : details,
  );
}

/** Smoothing off: one tick of a lone job must launch for it. */
const checkedAs = (config: ScalerConfig): ScalerConfig => ({ ...config, betaInertia: 0 });

interface Refusal {
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** Of the other jobs that could never run, this many are named (the rest counted). */
const MAX_OTHERS_NAMED = 5;

/**
 * Why the job, planned alone on an empty cluster, would never run, naming the settings to change
 * as `names` gives them; undefined if it would run.
 */
function refusalOf(job: DeclaredJob, check: ScalerConfig, names: ScalerSettingNames): Refusal | undefined {
  const queued: QueuedJob = {
    id: job.name,
    name: job.name,
    cores: job.cores,
    memoryBytes: job.memoryBytes,
    diskBytes: job.diskBytes,
    preemptable: job.preemptable,
  };
  const plan = planScaling({ now: 0, queued: [queued], running: [], nodes: [] }, check);
  const bad = plan.unschedulable[0];
  if (bad) {
    // A non-preemptable job with only spot types needs an on-demand type, not a bigger one.
    const spotOnly = bad.constraints.some((c) => c.startsWith('preemptable:'));
    const sized = bad.constraints.some((c) => !c.startsWith('preemptable:'));
    const ways = [
      ...(spotOnly
        ? [
            `add an on-demand type to ${names.nodeTypes}${names.where} (${names.onDemandType})`,
            job.service
              ? 'declare the service preemptable: true in its requirements (--defaultPreemptible does not reach a service)'
              : 'make the job preemptable (--defaultPreemptible, for a job that does not say)',
          ]
        : []),
      // An EBS-only type's disk is its root volume, which a setting sizes: the least that fits.
      ...(bad.rootVolume
        ? [
            `raise ${rootVolumeSetting(check, bad.rootVolume.instanceType, names.rootVolumes)}${names.where} to ${bad.rootVolume.neededGiB} or more`,
          ]
        : []),
      ...(sized
        ? [
            `change ${names.biggerNodeType}${names.where} to a bigger type`,
            "the job's requirements (--defaultCores/--defaultMemory/--defaultDisk)",
          ]
        : []),
    ];
    return {
      message:
        `job '${job.name}' can never run: ${bad.constraints.join('; ')} (largest allowed node type ${bad.largestNodeType}); ` +
        `${ways.slice(0, -1).join(', ')}${ways.length > 1 ? ', or ' : ''}${ways.at(-1)}`,
      details: { job: job.name, constraints: bad.constraints },
    };
  }
  if (plan.launch.length > 0) return undefined;
  const why = plan.waiting[0]?.reason ?? 'no node would be launched for it';
  const settings = job.preemptable
    ? `${names.maxPreemptableNodes}, ${names.preemptableCompensation}, ${names.maxNodes} or ${names.nodeTypes}`
    : `${names.maxNodes} or ${names.nodeTypes} (an on-demand type)`;
  return {
    message: `job '${job.name}'${job.preemptable ? ' (preemptable)' : ''} would wait forever: ${why}; change ${settings}${names.where}`,
    details: { job: job.name, reason: why },
  };
}

/** More jobs than this and the search below is not tried (nothing is refused). */
const MAX_JOBS_SEARCHED = 10;

interface Pool {
  readonly label: string;
  readonly spot: boolean;
  /** The most a node of this type gives jobs, dimension by dimension over its instance types. */
  readonly room: Resources;
  readonly maxNodes: number;
}

interface Caps {
  readonly perType: boolean;
  readonly total: number;
  readonly spot: number;
}

/**
 * Whether the jobs can all run at once on nodes the scaler may launch: an exact search (each job
 * on a node already opened or on a new one of a type that takes it), within the caps.
 */
function fitTogether(jobs: readonly DeclaredJob[], pools: readonly Pool[], caps: Caps): boolean {
  const open: { pool: number; free: Resources }[] = [];
  const perType = pools.map(() => 0);
  let spot = 0;
  const place = (i: number): boolean => {
    const job = jobs[i];
    if (!job) return true;
    const need = { cores: job.cores, memoryBytes: job.memoryBytes, diskBytes: job.diskBytes };
    const tried = new Set<string>();
    for (const node of open) {
      const pool = pools[node.pool]!;
      const key = `${node.pool}/${node.free.cores}/${node.free.memoryBytes}/${node.free.diskBytes}`;
      if ((pool.spot && !job.preemptable) || tried.has(key) || !fitsResources(node.free, need)) continue;
      tried.add(key);
      const before = node.free;
      node.free = subtract(before, need);
      if (place(i + 1)) return true;
      node.free = before;
    }
    for (const [p, pool] of pools.entries()) {
      if (pool.spot && !job.preemptable) continue;
      if ((caps.perType && perType[p]! >= pool.maxNodes) || open.length >= caps.total) continue;
      if (pool.spot && spot >= caps.spot) continue;
      if (!fitsResources(pool.room, need)) continue;
      open.push({ pool: p, free: subtract(pool.room, need) });
      perType[p]!++;
      if (pool.spot) spot++;
      if (place(i + 1)) return true;
      open.pop();
      perType[p]!--;
      if (pool.spot) spot--;
    }
    return false;
  };
  return place(0);
}

const describeJob = (j: DeclaredJob): string =>
  `'${j.name}' (${describeRequest({ cores: j.cores, memoryBytes: j.memoryBytes, diskBytes: j.diskBytes })}` +
  `${j.preemptable ? ', preemptable' : ''})`;

/**
 * `checkScalingFlags` for one job the workflow adds as it runs (or declares with a promised
 * requirement): a job no node type the scaler may launch fits whole, or one its limits never
 * launch a node for, would wait for ever on a leader that only learns of it then (the daemon
 * took every workflow unchecked). `addedWith` gives the jobs added after it at the same time (the
 * same commit), asked for only when it is refused: the refusal counts and names those that could never run either, as the check
 * before launch does. The verdict per shape is kept for the config it was made under, so a
 * workflow of a hundred thousand jobs of a few names and shapes plans a few times. A config
 * without node types is a cluster of fixed size: nothing is judged. `names` are the settings the
 * refusal tells its reader to change: the config file's keys on a daemon.
 */
export function checkJobLaunchable(
  job: DeclaredJob,
  config: ScalerConfig,
  addedWith: () => readonly DeclaredJob[] = () => [],
  names: ScalerSettingNames = SCALER_FLAGS,
): void {
  if (!config.nodeTypes.some((nt) => nt.maxNodes > 0)) return;
  const refusal = launchRefusal(job, config, names);
  if (refusal)
    throw refusalCountingOthers(
      job,
      refusal,
      addedWith().filter((other) => launchRefusal(other, config, names)),
    );
}

/** `refusalOf` as `checkScalingFlags` judges, kept per shape (and wording) for the config it was made under. */
function launchRefusal(
  job: DeclaredJob,
  config: ScalerConfig,
  names: ScalerSettingNames,
): Refusal | undefined {
  let verdicts = launchVerdicts.get(config);
  if (!verdicts) launchVerdicts.set(config, (verdicts = new Map<string, Refusal | null>()));
  const key = JSON.stringify([
    names.where,
    names.rootVolumes.nodeStorage,
    job.name,
    job.cores,
    job.memoryBytes,
    job.diskBytes,
    job.preemptable,
    job.service,
  ]);
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    verdict = refusalOf(job, checkedAs(config), names) ?? null;
    verdicts.set(key, verdict);
  }
  return verdict ?? undefined;
}

const launchVerdicts = new WeakMap<ScalerConfig, Map<string, Refusal | null>>();

/**
 * Refuses a host whose services can never all run at once, with room beside them for the jobs
 * that wait for them, on the nodes the scaler may launch. A host's services start together and
 * stop only once its successors have run, so every one of them and at least one successor hold
 * room at the same time; planned one by one (`checkScalingFlags`) each fits, yet under the node
 * limits the last of them, or the successor, waits for room that never comes, until
 * --deadlockWait fails the run after nodes were launched for nothing. Checked when the host has
 * run (which services it adds is known only then), before any of them is issued. `beside` is the
 * smallest of the host's successors. Nothing is refused when the jobs would not fit even without
 * the limits (a job too big alone is refused elsewhere) or there are too many to search. `names`
 * are the limits as the reader changes them: the config file's keys on a daemon.
 * Throws WorkflowWouldHangError (exit 2).
 */
export function checkServicesTogether(
  host: string,
  services: readonly DeclaredJob[],
  beside: DeclaredJob | undefined,
  config: ScalerConfig,
  names: ScalerSettingNames = SCALER_FLAGS,
): void {
  const jobs = [...services, ...(beside ? [beside] : [])].sort((a, b) => b.cores - a.cores);
  if (services.length === 0 || jobs.length > MAX_JOBS_SEARCHED) return;
  const pools: Pool[] = config.nodeTypes.map((nt) => {
    const shapes = nt.instanceTypes.map((it) => packableResources(it, config.assumeZeroOverhead));
    return {
      label: nt.label,
      spot: nt.capacityType === 'spot',
      room: {
        cores: Math.max(...shapes.map((s) => s.cores)),
        memoryBytes: Math.max(...shapes.map((s) => s.memoryBytes)),
        diskBytes: Math.max(...shapes.map((s) => s.diskBytes)),
      },
      maxNodes: nt.maxNodes,
    };
  });
  const limits: Caps = {
    perType: true,
    total: config.maxTotalNodes ?? Infinity,
    spot: config.maxPreemptableNodes ?? Infinity,
  };
  if (fitTogether(jobs, pools, limits)) return;
  const unlimited = (total: number): Caps => ({ perType: false, total, spot: Infinity });
  if (!fitTogether(jobs, pools, unlimited(Infinity))) return;
  let needed = 1;
  while (!fitTogether(jobs, pools, unlimited(needed))) needed++;
  const limitNames = [
    `${names.maxNodes} ${config.nodeTypes.map((nt) => `${nt.maxNodes} (${nt.label})`).join(', ')}`,
    ...(config.maxPreemptableNodes !== undefined
      ? [`${names.maxPreemptableNodes} ${config.maxPreemptableNodes}`]
      : []),
    ...(config.maxTotalNodes !== undefined ? [`${names.maxTotalNodes} ${config.maxTotalNodes}`] : []),
  ];
  const described = services.map(describeJob).join(', ');
  throw new WorkflowWouldHangError(
    `job '${host}' adds services ${described} that run all at once` +
      (beside ? `, with room for its job ${describeJob(beside)} beside them,` : '') +
      ` but the nodes this run may launch cannot hold them together under ${limitNames.join(', ')}: ` +
      `they need ${needed} node(s) at once, and the run would wait for room that never comes until ` +
      `--deadlockWait failed it; raise the limit${names.where} (or allow a bigger ${names.nodeTypes}), or give the services less room`,
    { job: host, services: services.map((s) => s.name), needed },
  );
}
