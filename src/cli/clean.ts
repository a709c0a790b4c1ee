import type { Command } from 'commander';
import { addForeignOptions, checkForeignOptions, utilityCommonOptions } from './foreignOptions.js';
import { refuseWhileLeased } from '../jobstore/lease.js';
import { openJobStore } from '../main/jobStores.js';
import { leftByDeadRun, leftByRunLines } from './autoscaleRunState.js';
import { runningNow } from './statusRunning.js';
import type { SubCommand } from './main.js';
import { STORE_UNREACHABLE_HELP, storeReadingOptions } from './storeUnreachable.js';

/** Toil's `toil clean` takes the options every Toil utility has (logging, --tempDirRoot). */
const FOREIGN = utilityCommonOptions('toil clean');

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const cmd = program
      .command('clean')
      .description(
        'Delete a job store and everything in it (the workflow, its jobs, files and logs). Exit codes: ' +
          `0 deleted, or nothing there to delete, 2 bad input (a leader holds the store, or another command is deleting it), ${STORE_UNREACHABLE_HELP}.`,
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)');
    addForeignOptions(cmd, FOREIGN).action(async (jobStore: string, flags: object) => {
      for (const notice of checkForeignOptions(flags, FOREIGN)) process.stderr.write(`${notice}\n`);
      const store = openJobStore(jobStore, storeReadingOptions('clean'));
      if (!(await store.exists())) {
        const finished = await store.finishCutShortDestroy();
        // A directory of other files (a mistyped path, `toil clean .`) is refused as no job
        // store, not called absent: it is kept, and a script sees exit 2.
        if (!finished) await store.assertOurs();
        // An empty directory (or a create's skeleton) is deleted, as Toil's clean deletes the
        // directory it is named: a script's `toil clean` leaves no trace of the store either way.
        const emptied = !finished && (await store.removeEmpty());
        process.stdout.write(
          finished
            ? `deleted what was left of job store ${jobStore} (a deletion of it was cut short)\n`
            : emptied
              ? `deleted job store ${jobStore}: an empty directory, where no workflow had started\n`
              : `job store ${jobStore} does not exist; nothing to clean\n`,
        );
      } else {
        await refuseWhileLeased(
          store.objects,
          Date.now(),
          `expected no leader on it, since deleting it would pull the workflow from under that leader; stop it first with 'toil kill ${jobStore} --wait 60', or wait for its lease to expire if it died`,
        );
        // A leader killed with SIGKILL left its jobs queued or running in Slurm (or Mesos), and
        // only this store names them: they are cancelled before it goes, as by
        // `toil kill --force`, instead of running on (and holding nodes) for nothing.
        // The cancelling (Mesos, Slurm and zod) loads only then.
        if ((await runningNow(store, Date.now())).deadLeaderLeft) {
          const { cancelLeftJobs } = await import('../main/forceCancel.js');
          for (const report of await cancelLeftJobs(store, 'clean')) process.stderr.write(`${report.line}\n`);
        }
        await store.destroy();
        process.stdout.write(`deleted job store ${jobStore}\n`);
      }
      // A `toil run --provisioner aws` killed on this store left nodes running that only its
      // state names, and `toil status` of a deleted store says nothing of them: said here.
      const left = await leftByDeadRun(jobStore, undefined);
      if (left) process.stderr.write(leftByRunLines(left, Date.now(), true));
      setExitCode(0);
    });
  },
};
