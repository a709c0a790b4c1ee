import { RealClock } from '../common/clock.js';
import { LEFT_PROCESS_GRACE_MS, endMarkedProcesses } from '../common/processMarks.js';

/**
 * A worker its batch system kills mid-job (a Mesos task killed, `scancel`, a Slurm time limit) gets
 * SIGTERM, with its process group; what its job started detached (a session of its own) is out of
 * that group and ran on, since the worker swept the attempt's mark only once the job returned or
 * threw. On SIGTERM the processes carrying the attempt's mark (`markOf`: none before it is set)
 * get SIGTERM, then SIGKILL after LEFT_PROCESS_GRACE_MS (inside Mesos' 3 s and Slurm's 30 s
 * KillWait), and the worker then dies of the signal, as it would have without this handler, so
 * its batch system sees the same end. A second SIGTERM meanwhile ends it at once. The job runs
 * on during the sweep: the returned function says whether SIGTERM came, so that the worker does
 * not commit a result its batch system was told is killed.
 */
export function endMarkedOnSigterm(markOf: () => string | undefined): () => boolean {
  let signalled = false;
  const onSignal = (): void => {
    signalled = true;
    const mark = markOf();
    const swept = mark
      ? endMarkedProcesses(mark, { clock: new RealClock(), graceMs: LEFT_PROCESS_GRACE_MS })
      : Promise.resolve();
    void swept.finally(() => {
      // A handler the job's code added must not keep the worker alive either.
      process.removeAllListeners('SIGTERM');
      process.kill(process.pid, 'SIGTERM');
    });
  };
  // Once: with no listener left, Node's default (die) holds for a second SIGTERM.
  process.once('SIGTERM', onSignal);
  return () => signalled;
}
