import { prepareWorkDir } from '../main/env.js';
import type { Command } from 'commander';
import { UserInputError } from '../common/errors.js';
// Not '../main.js': a worker (one process per job) loads the job store alone, not the leader's parts.
import { openJobStore } from '../main/jobStores.js';
import { exitProcess, exitWithProcessGroup, ignoreStrayThrowsUntilExit } from '../workflow/exitTrap.js';
import { serveWarmWorker } from '../workflow/warmWorker.js';
import { endAttemptOnSigterm, type RunningAttempt } from '../workflow/workerSignals.js';
import { runWorkerJob, type WorkerWarning } from '../workflow/worker.js';
import type { SubCommand } from './main.js';

export const command: SubCommand = {
  register(program: Command, _setExitCode: (code: number) => void): void {
    program
      .command('worker')
      .description(
        'Internal: run one attempt of one job from a job store and commit its result. Exit codes: 0 committed, ' +
          '1 the job failed (reason in the job store), 2 bad invocation, 3 the job store could not be used.',
      )
      .argument('[jobStore]', 'the job store locator')
      .argument('[jobId]', 'the job to run')
      .option('--attempt <n>', 'the attempt number the leader gave this run', '1')
      .option('--serve', 'stay up and run the attempts the parent process sends over IPC')
      .option(
        '--workDir <dir>',
        'local scratch space (default: TOIL_WORKDIR, else the OS temp dir; TOIL_WORKDIR_OVERRIDE wins over both; it must exist)',
      )
      .action(
        async (
          jobStore: string | undefined,
          jobId: string | undefined,
          flags: { attempt: string; serve?: boolean; workDir?: string },
        ) => {
          // As Toil's worker: a work directory that does not exist is refused, not made.
          const workDir = await prepareWorkDir(flags.workDir);
          if (flags.serve) {
            serveWarmWorker(async (locator) => openJobStore(locator), { workDir });
            // Never resolves: the process lives until its leader disconnects.
            await new Promise<never>(() => {});
            return;
          }
          const attempt = Number(flags.attempt);
          if (!jobStore || !jobId || !Number.isInteger(attempt) || attempt < 1) {
            throw new UserInputError('BAD_FLAG', 'toil worker: expected JOBSTORE JOBID --attempt N (N >= 1)');
          }
          const hasLeader = typeof process.send === 'function';
          // Launched by a leader on this machine: exit as soon as it goes away (see warmWorker.ts).
          const onDisconnect = (): never => exitWithProcessGroup(3);
          if (hasLeader) process.on('disconnect', onDisconnect);
          // Killed by its batch system mid-job: what the job started detached goes too, and so do
          // the files it wrote.
          let running: RunningAttempt | undefined;
          const terminated = endAttemptOnSigterm(() => running);
          const result = await runWorkerJob(openJobStore(jobStore), jobId, attempt, {
            workDir,
            onAttempt: (a) => (running = a),
            keepExitTrap: true,
            signalled: terminated,
            ...(hasLeader ? { shouldCommit: () => process.connected } : {}),
            ...(hasLeader && process.channel ? { leaderChannel: process.channel } : {}),
          });
          if (result.exitCode !== 0 && result.message) process.stderr.write(`${result.message}\n`);
          // Trapped until here: a timer the job left that calls process.exit (or throws) while the
          // result is saved or said must not end this process first; nor after, while it says so.
          const warning = result.releaseExitTrap?.().warning;
          ignoreStrayThrowsUntilExit();
          if (warning) process.stderr.write(`WARN ${warning}\n`);
          if (hasLeader) {
            process.off('disconnect', onDisconnect);
            // The leader logs it: this process's output is read only when it fails.
            if (warning && process.connected)
              await new Promise<void>((resolve) =>
                process.send!({ type: 'warning', message: warning } satisfies WorkerWarning, () => resolve()),
              );
            process.disconnect();
          }
          // The attempt is over (committed, or its failure logged): exit now. A job that left a
          // timer or a socket open (a forgotten poller, a client's keep-alive) would otherwise keep
          // this process, and so its task, running for ever after its commit, and the workflow
          // would wait on it.
          exitProcess(result.exitCode);
        },
      );
  },
};
