/**
 * The syntax of Toil's Slurm settings, shared by `toil run`'s flags and the leader config's
 * `batchSystem` keys (which may not import the Slurm batch system).
 */

/** Slurm's time formats Toil documents for --slurmTime: [DD-]HH:MM:SS (and MM:SS, HH:MM:SS). */
export const SLURM_TIME = /^(\d+-)?(\d{1,2}:)?\d{1,2}:\d{2}$/;
export const SLURM_TIME_EXPECTED =
  'expected a Slurm time limit as [DD-]HH:MM:SS (e.g. 4:00:00 or 1-12:00:00)';
/** A QOS or partition name as sbatch takes it (nothing a shell or Slurm would read further). */
export const SLURM_NAME = /^[A-Za-z0-9_.-]+$/;
