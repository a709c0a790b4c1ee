/**
 * What toil-ts keeps under a work directory (--workDir, TOIL_WORKDIR, or the OS temp dir), shared
 * by the runs and workers of the machine: a run that ends removes its own part of each (see
 * runWorkflow's `removeOwnTraces`), and a directory once empty.
 */

/** The workflow modules the leader and workers load, one file per module version. */
export const MODULE_CACHE_DIR = 'toil-ts-modules';

/** The jobs' scratch space: one `toil-job-*` directory per running job, removed as it ends. */
export const JOB_SCRATCH_DIR = 'toil-ts-jobs';
