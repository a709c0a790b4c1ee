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

/**
 * Options the extra flags may not set, because toil-ts sets them for each job from the job itself
 * and sbatch would take the user's over them (the extra flags come last). Toil refuses the memory
 * and CPU ones too ("Some resource arguments are incompatible"): a `--mem` there would give every
 * job that memory, a job asking for more than its node has would wait in the queue for ever. The
 * comment is how toil-ts finds its Slurm jobs again (`--restart` and `toil kill --force` cancel a
 * dead leader's by it); an array would run each job once per task.
 */
const JOB_OWN_OPTIONS: readonly { long: readonly string[]; short?: string; why: string }[] = [
  {
    long: ['--mem', '--mem-per-cpu', '--mem-per-gpu'],
    why: "toil-ts asks Slurm for each job's own memory (--mem), as Toil does, which refuses it here too: declare the memory on the job (or --defaultMemory), or send no --mem with --slurmAllocateMem false",
  },
  {
    long: ['--cpus-per-task', '--cpus-per-gpu'],
    short: '-c',
    why: "toil-ts asks Slurm for each job's own cores (--cpus-per-task), as Toil does, which refuses it here too: declare the cores on the job (or --defaultCores)",
  },
  {
    long: ['--comment'],
    why: "toil-ts writes each Slurm job's comment itself (toil:<job id>:<attempt>): it is how --restart and toil kill --force find the Slurm jobs a killed leader left running, so they are cancelled, not run twice",
  },
  {
    long: ['--array'],
    short: '-a',
    why: 'an array would run each job once per array task, not once',
  },
];

/** Why toil-ts cannot take this word of the extra sbatch flags, or undefined when it can. */
export function jobOwnSlurmOption(word: string): string | undefined {
  for (const o of JOB_OWN_OPTIONS) {
    if (o.long.some((name) => word === name || word.startsWith(`${name}=`))) return o.why;
    if (o.short !== undefined && word.startsWith(o.short)) return o.why;
  }
  return undefined;
}
