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

/**
 * sbatch's long options (Slurm 22.05: those its --help and man page list, and those its own
 * "is ambiguous; possibilities" message names). sbatch reads them with getopt_long, which takes
 * any unambiguous prefix of one as that option (`--me` is ambiguous, `--comm` is --comment): an
 * abbreviation of an option toil-ts sets would override toil-ts's value as the full name would.
 */
const SBATCH_LONG_OPTIONS: readonly string[] = [
  '--account',
  '--acctg-freq',
  '--array',
  '--batch',
  '--bb',
  '--bbf',
  '--begin',
  '--chdir',
  '--cluster',
  '--cluster-constraint',
  '--clusters',
  '--comment',
  '--constraint',
  '--container',
  '--context',
  '--contiguous',
  '--core-spec',
  '--cores-per-socket',
  '--cpu-freq',
  '--cpus-per-gpu',
  '--cpus-per-task',
  '--deadline',
  '--delay-boot',
  '--dependency',
  '--distribution',
  '--error',
  '--exclude',
  '--exclusive',
  '--export',
  '--export-file',
  '--extra-node-info',
  '--get-user-env',
  '--gid',
  '--gpu-bind',
  '--gpu-freq',
  '--gpus',
  '--gpus-per-node',
  '--gpus-per-socket',
  '--gpus-per-task',
  '--gres',
  '--gres-flags',
  '--help',
  '--hint',
  '--hold',
  '--ignore-pbs',
  '--input',
  '--job-name',
  '--kill-on-invalid-dep',
  '--licenses',
  '--mail-type',
  '--mail-user',
  '--mcs-label',
  '--mem',
  '--mem-bind',
  '--mem-per-cpu',
  '--mem-per-gpu',
  '--mincpus',
  '--network',
  '--nice',
  '--no-kill',
  '--no-requeue',
  '--nodefile',
  '--nodelist',
  '--nodes',
  '--ntasks',
  '--ntasks-per-core',
  '--ntasks-per-gpu',
  '--ntasks-per-node',
  '--ntasks-per-socket',
  '--ntasks-per-tres',
  '--open-mode',
  '--output',
  '--overcommit',
  '--oversubscribe',
  '--parsable',
  '--partition',
  '--power',
  '--prefer',
  '--priority',
  '--profile',
  '--propagate',
  '--qos',
  '--quiet',
  '--reboot',
  '--requeue',
  '--reservation',
  '--signal',
  '--sockets-per-node',
  '--spread-job',
  '--switches',
  '--tasks-per-node',
  '--test-only',
  '--thread-spec',
  '--threads-per-core',
  '--time',
  '--time-min',
  '--tmp',
  '--uid',
  '--usage',
  '--use-min-nodes',
  '--verbose',
  '--version',
  '--wait',
  '--wait-all-nodes',
  '--wckey',
  '--wrap',
];

/** The long options sbatch would read this word as: its own name, or every one it abbreviates. */
export function sbatchReadsAs(word: string): readonly string[] {
  const name = word.split('=', 1)[0] as string;
  if (!name.startsWith('--') || name.length < 3) return [];
  if (SBATCH_LONG_OPTIONS.includes(name)) return [name];
  return SBATCH_LONG_OPTIONS.filter((o) => o.startsWith(name));
}

/**
 * Why toil-ts cannot take this word of the extra sbatch flags, or undefined when it can. A word
 * sbatch would read only as options toil-ts sets (a full name or an abbreviation of one) is
 * refused; an abbreviation that is also another option's is sbatch's to refuse as ambiguous.
 */
export function jobOwnSlurmOption(word: string): string | undefined {
  const readAs = sbatchReadsAs(word);
  const owners = readAs.map((name) => JOB_OWN_OPTIONS.find((o) => o.long.includes(name)));
  if (owners.length > 0 && owners.every((o) => o !== undefined)) return owners[0]?.why;
  for (const o of JOB_OWN_OPTIONS) if (o.short !== undefined && word.startsWith(o.short)) return o.why;
  return undefined;
}
