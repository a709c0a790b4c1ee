/**
 * Toil's --maxCores, --maxMemory and --maxDisk: the most one job may ask for, on every batch
 * system. Toil's batch systems all check them as they issue a job
 * (AbstractBatchSystem.check_resource_request) and its leader stops the workflow on the
 * InsufficientSystemResources raised; here the leader checks each job as it is added (or once its
 * promised requirements are known), so no node is launched nor Slurm job queued for a job that
 * will be refused.
 */
import { UserInputError } from '../common/errors.js';
import { formatBytesAsUnitOf, formatBytesIn, writtenUnits } from '../common/units.js';
import { scaledCores } from './singleMachine.js';

export interface JobLimits {
  /** --maxCores: the most cores one job may ask for. Absent: no cap. */
  readonly maxCores?: number;
  /** --maxMemory, in bytes. Absent: no cap. */
  readonly maxMemory?: number;
  /** --maxDisk, in bytes. Absent: no cap. */
  readonly maxDisk?: number;
  /**
   * single_machine's --scale: a job's cores count as `scaledCores(cores, coreScale)` against
   * --maxCores, as Toil's single machine checks the scaled job. Absent: 1.
   */
  readonly coreScale?: number;
}

/** A job's requirements in effect (its own, else the run's --default* values). */
export interface LimitedJob {
  readonly name: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
}

/** One requirement over its cap: what the job asked for and the cap, as a person reads them. */
interface Overrun {
  readonly flag: '--maxCores' | '--maxMemory' | '--maxDisk';
  readonly asked: string;
  readonly cap: string;
}

/**
 * A job asks for more than --maxCores, --maxMemory or --maxDisk allows (Toil's
 * InsufficientSystemResources): raised before it is issued, naming the job, each resource over its
 * cap with what it asked for and the cap, and the flags to raise.
 */
export class JobOverMaxError extends UserInputError {
  readonly jobName: string;
  readonly over: readonly Overrun[];

  constructor(jobName: string, over: readonly Overrun[], storeKept = '') {
    const flags = over.map((o) => o.flag);
    super(
      'JOB_OVER_MAX',
      `job '${jobName}' asks for ` +
        over.map((o) => `${o.asked}, more than ${o.flag} allows (${o.cap})`).join(', and ') +
        `; raise ${flags.join(' and ')}, or lower the job's ${over.length === 1 ? 'requirement' : 'requirements'} (${flags.map(defaultFlagOf).join(' and ')} if it declares none)` +
        storeKept,
      { jobName, flags, asked: over.map((o) => o.asked), caps: over.map((o) => o.cap) },
    );
    this.jobName = jobName;
    this.over = over;
  }

  /**
   * The same refusal, as the run it stopped ends with its job store kept (what the jobs before it
   * committed, for a resume with the cap raised): the same command again is refused, the store
   * "already exists", so both ways on are said, in the words of Toil's JobStoreExistsException.
   * `resume`: what resumes the store (a leader daemon's resubmission), --restart by default.
   */
  storeKept(locator: string, resume = 'use --restart to resume the workflow'): JobOverMaxError {
    const raised = this.over.map((o) => o.flag).join(' and ');
    return new JobOverMaxError(
      this.jobName,
      this.over,
      `; the job store ${locator} is kept: ${resume} (with ${raised} raised), or remove the job store with 'toil clean ${locator}' to start the workflow from scratch`,
    );
  }

  /** The same refusal, as the run it stopped ends with its job store deleted (`--clean`). */
  storeDeleted(locator: string, clean: string): JobOverMaxError {
    return new JobOverMaxError(
      this.jobName,
      this.over,
      `; the job store ${locator} was deleted (--clean ${clean})`,
    );
  }
}

const defaultFlagOf = (flag: Overrun['flag']): string => flag.replace('--max', '--default');

/** Toil counts cores in tenths; a job at its cap is within it whatever the float says. */
const EPSILON = 1e-9;

/**
 * A size over its cap, both in the one unit the cap was written in (--maxMemory 2G: GB, as Toil's
 * human2bytes reads G; --maxDisk 1K: KB), so the two compare at a glance; in bytes when one
 * decimal place cannot tell them apart.
 */
function sizeOverrun(flag: '--maxMemory' | '--maxDisk', what: string, asked: number, cap: number): Overrun {
  const units = writtenUnits(cap);
  const [askedText, capText] = [formatBytesAsUnitOf(asked, cap, units), formatBytesIn(cap, units)];
  return askedText === capText
    ? { flag, asked: `${asked} bytes of ${what}`, cap: `${cap} bytes` }
    : { flag, asked: `${askedText} ${what}`, cap: capText };
}

/** Throws JobOverMaxError when the job asks for more than one of the caps allows. */
export function checkJobLimits(job: LimitedJob, limits: JobLimits): void {
  const over: Overrun[] = [];
  const scale = limits.coreScale ?? 1;
  const cores = scaledCores(job.cores, scale);
  if (limits.maxCores !== undefined && cores > limits.maxCores + EPSILON)
    over.push({
      flag: '--maxCores',
      asked: `${job.cores} cores${scale === 1 ? '' : ` (${cores} at --scale ${scale})`}`,
      cap: String(limits.maxCores),
    });
  if (limits.maxMemory !== undefined && job.memoryBytes > limits.maxMemory)
    over.push(sizeOverrun('--maxMemory', 'memory', job.memoryBytes, limits.maxMemory));
  if (limits.maxDisk !== undefined && job.diskBytes > limits.maxDisk)
    over.push(sizeOverrun('--maxDisk', 'disk', job.diskBytes, limits.maxDisk));
  if (over.length > 0) throw new JobOverMaxError(job.name, over);
}
