/**
 * The syntax of Toil's Slurm settings, shared by `toil run`'s flags and the leader config's
 * `batchSystem` keys (which may not import the Slurm batch system).
 */

/**
 * Slurm's time formats, all of which Toil's --slurmTime takes (parse_slurm_time): minutes,
 * minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes, days-hours:minutes:seconds.
 * sbatch reads each the same way, so the value is passed on as written.
 */
export const SLURM_TIME = /^(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+)$/;
export const SLURM_TIME_EXPECTED =
  'expected a Slurm time limit as [DD-]HH:MM:SS (e.g. 4:00:00 or 1-12:00:00)';
/** A QOS or partition name as sbatch takes it (nothing a shell or Slurm would read further). */
export const SLURM_NAME = /^[A-Za-z0-9_.-]+$/;
