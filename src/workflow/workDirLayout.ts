/**
 * What toil-ts keeps under a work directory (--workDir, TOIL_WORKDIR, or the OS temp dir), shared
 * by the runs and workers of the machine: a run that ends removes its own part of each (see
 * runWorkflow's `removeOwnTraces`), and a directory once empty.
 */

/** The workflow modules the leader and workers load, one file per module version. */
export const MODULE_CACHE_DIR = 'toil-ts-modules';

/** The jobs' scratch space: one `toil-job-*` directory per running job, removed as it ends. */
export const JOB_SCRATCH_DIR = 'toil-ts-jobs';

/**
 * The prefix of a job's directory in JOB_SCRATCH_DIR. Each is marked with the worker process that
 * made it (see ownedDirs): a worker killed mid-job (Ctrl-C, --maxJobDuration) cannot remove its
 * own, and its leader removes it once the worker is gone.
 */
export const JOB_DIR_PREFIX = 'toil-job-';
