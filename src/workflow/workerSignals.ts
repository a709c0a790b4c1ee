import { RealClock } from '../common/clock.js';
import { LEFT_PROCESS_GRACE_MS, endMarkedProcesses, leftProcessesWarning } from '../common/processMarks.js';
import type { WorkerWarning } from './worker.js';

/** What a worker stopped mid-job needs of the attempt it is running (see endAttemptOnSigterm). */
export interface RunningAttempt {
  /** The job's name, for the warning naming what the sweep ended. */
  readonly name: string;
  /** The attempt's process mark: every process its job starts carries it. */
  readonly mark: string;
  /**
   * Deletes the files the attempt has written so far, unless its commit is on its way (or in):
   * then they are the commit's, which may be the job's, and nothing is deleted.
   */
  readonly deleteWritten: () => Promise<void>;
}

/**
 * A worker its batch system kills mid-job (a Mesos task killed, `scancel`, a Slurm time limit) gets
 * SIGTERM, with its process group; what its job started detached (a session of its own) is out of
 * that group and ran on, since the worker swept the attempt's mark only once the job returned or
 * threw. On SIGTERM the processes carrying the attempt's mark (`attemptOf`: none before it is
 * set) get SIGTERM, then SIGKILL after LEFT_PROCESS_GRACE_MS (inside Mesos' 3 s and Slurm's 30 s
 * KillWait), and the worker then dies of the signal, as it would have without this handler, so
 * its batch system sees the same end. A second SIGTERM meanwhile ends it at once. The job runs
 * on during the sweep: the returned function says whether SIGTERM came, so that the worker does
 * not commit a result its batch system was told is killed.
 *
 * Beside the sweep, the files the attempt wrote are deleted, as a failed attempt's are: no commit
 * will name them, and a leader deletes them only once another attempt of the job commits (a
 * retry's, or a --restart's after the run was stopped), which for a run given up is never. The
 * deletion gets no more time than the sweep may take anyway (LEFT_PROCESS_GRACE_MS): a store too
 * slow for it leaves the rest as a worker killed outright does, and the worker's end is never put
 * off for it.
 */
export function endAttemptOnSigterm(attemptOf: () => RunningAttempt | undefined): () => boolean {
  let signalled = false;
  const onSignal = (): void => {
    signalled = true;
    const attempt = attemptOf();
    const clock = new RealClock();
    const swept = attempt
      ? endMarkedProcesses(attempt.mark, { clock, graceMs: LEFT_PROCESS_GRACE_MS }).then((s) =>
          s.found > 0 ? warn(leftProcessesWarning(`job '${attempt.name}'`, s)) : undefined,
        )
      : Promise.resolve();
    const deleted = attempt
      ? Promise.race([attempt.deleteWritten().catch(() => {}), clock.sleep(LEFT_PROCESS_GRACE_MS)])
      : Promise.resolve();
    void Promise.allSettled([swept, deleted]).finally(() => {
      // A handler the job's code added must not keep the worker alive either.
      process.removeAllListeners('SIGTERM');
      process.kill(process.pid, 'SIGTERM');
    });
  };
  // Once: with no listener left, Node's default (die) holds for a second SIGTERM.
  process.once('SIGTERM', onSignal);
  return () => signalled;
}

/**
 * Says a warning where the worker's leader hears it: over the IPC channel of a single_machine
 * leader, which logs it (the processes the sweep ended would otherwise have been its sweep's, and
 * its warning); on stderr, which a cluster's batch system keeps, without one.
 */
function warn(message: string): Promise<void> {
  if (typeof process.send !== 'function' || !process.connected) {
    process.stderr.write(`WARN ${message}\n`);
    return Promise.resolve();
  }
  return new Promise((resolve) =>
    process.send!({ type: 'warning', message } satisfies WorkerWarning, () => resolve()),
  );
}
