import type { Command } from 'commander';
import { RealClock, type Clock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { processAlive } from '../common/processIdentity.js';
import { currentLeader, isToilProcess, KILL_POLL_MS, requestKill, runsHere } from '../leader/killRequest.js';
import { everyJobRan } from '../leader/workflowStatus.js';
import { readLeaseRecord } from '../jobstore/lease.js';
import type { LeaseHolder } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { openJobStore } from '../main/jobStores.js';
import { leftByDeadRun, leftByRunLines } from './autoscaleRunState.js';
import { addForeignOptions, checkForeignOptions, utilityCommonOptions } from './foreignOptions.js';
import type { SubCommand } from './main.js';
import { STORE_UNREACHABLE_HELP, storeReadingOptions } from './storeUnreachable.js';

/** How long `--wait` spends telling a stop in the workflow's finish() from one with jobs left. */
const FINISH_CHECK_MS = 5_000;

/** Toil's options every utility takes (src/cli/foreignOptions.ts). */
const FOREIGN = utilityCommonOptions('toil kill');

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const cmd = program
      .command('kill')
      .description(
        "Stop the workflow running in a job store (Toil's `toil kill`): its leader, wherever it runs, sees the " +
          `request within ${KILL_POLL_MS / 1000} s, kills its running jobs (or abandons the workflow's start() or finish() in ` +
          'progress, ending the processes it started) and stops, keeping the job store ' +
          '(resume with toil run … --restart). --force kills a leader of this machine at once and cancels its running jobs ' +
          '(a Mesos framework is torn down at its master, Slurm jobs are cancelled). A store no leader holds, or whose ' +
          'toil run of this machine is gone (killed with -9), is refused with exit 2: nothing would read the request ' +
          '(--force cancels the jobs such a run left; toil status names its nodes). ' +
          'Exit codes: 0 asked (and, with --wait, stopped), 1 the leader did not stop within --wait, or a job ' +
          `--force cancels could not be, 2 bad input or no leader to ask, ${STORE_UNREACHABLE_HELP}.`,
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option(
        '--wait <seconds>',
        'wait until the leader has stopped, at most this long (0: do not wait)',
        '0',
      )
      .option(
        '--force',
        'if the leader runs on this machine, also kill it at once (SIGKILL) and cancel the jobs it had running ' +
          '(Mesos: tear its framework down at the master; Slurm: scancel its jobs); a leader daemon (toil leader) ' +
          'is never killed: it stops the workflow itself',
      );
    addForeignOptions(cmd, FOREIGN).action(
      async (jobStore: string, flags: { wait: string; force?: boolean }) => {
        for (const notice of checkForeignOptions(flags, FOREIGN)) process.stderr.write(`${notice}\n`);
        const waitS = Number(flags.wait);
        if (!/^\d+(\.\d+)?$/.test(flags.wait) || !Number.isFinite(waitS))
          throw new UserInputError('BAD_FLAG', `--wait ${flags.wait}: expected a number of seconds`);
        const clock = new RealClock();
        const store = openJobStore(jobStore, storeReadingOptions('kill'));
        if (!flags.force) {
          const dead = await deadRunLeader(store);
          if (dead) {
            // A dead toil run reads no request (its --restart is a new generation): nothing is
            // asked, and exit 2 says so, as for a store no leader holds.
            process.stderr.write(
              `toil: no leader is running the workflow in job store ${store.locator}: the ${dead.what} that led it ` +
                `(pid ${dead.holder.pid} on this machine, generation ${dead.generation}) is gone, so nothing was asked to stop\n` +
                `toil: toil kill --force ${jobStore} cancels the jobs it left running in its batch system; ` +
                `toil run … --restart resumes the workflow (its job store is kept)\n`,
            );
            const left = await leftByDeadRun(jobStore, undefined);
            if (left) process.stderr.write(leftByRunLines(left, clock.now()));
            return setExitCode(2);
          }
        }
        const request = await requestKill(store, clock.now());
        process.stderr.write(
          `toil: asked the leader of ${store.locator} (generation ${request.generation}) to stop\n`,
        );
        // A leader daemon runs other workflows and the cluster's scaler: --force never kills it.
        // It stops this workflow and kills its jobs itself at its next look at the store.
        const daemon = request.leader.daemon;
        // A daemon of this machine that is itself dead (kill -9, a crash) stops nothing: its
        // workflow's jobs are cancelled as a dead leader's are.
        const deadDaemon =
          Boolean(flags.force) &&
          daemon !== undefined &&
          runsHere(request.leader) &&
          !(processAlive(request.leader.pid) && isToilProcess(request.leader.pid));
        if (deadDaemon && daemon.run)
          process.stderr.write(
            `toil: --force: the toil run --provisioner aws that led this workflow (pid ${request.leader.pid}) is not running; ` +
              `the jobs it left running are cancelled here (toil run … --restart resumes the workflow: its job store is kept)\n`,
          );
        else if (deadDaemon)
          process.stderr.write(
            `toil: --force: the leader daemon that ran this workflow (pid ${request.leader.pid}) is not running; ` +
              `the workflow's jobs are cancelled here (a restarted daemon would resume the workflow: its job store is kept)\n`,
          );
        else if (flags.force && daemon)
          process.stderr.write(
            `toil: --force: the workflow runs on the leader daemon on ${request.leader.host} (pid ${request.leader.pid}, ` +
              `workflow ${daemon.workflowId}) with other workflows, so the daemon is not killed: it stops this workflow ` +
              `and kills its running jobs within ${KILL_POLL_MS / 1000} s\n`,
          );
        // Toil's --force: SIGKILL to a leader of this machine. Its workers exit as their link to it
        // closes, and its lease is then provably gone, so --restart takes over at once.
        const here = Boolean(flags.force) && !daemon && runsHere(request.leader);
        const forced = here && isToilProcess(request.leader.pid);
        if (here && !forced)
          process.stderr.write(
            `toil: --force: pid ${request.leader.pid} is no toil process any more (the leader died; --restart takes over at once)\n`,
          );
        if (forced) {
          try {
            process.kill(request.leader.pid, 'SIGKILL');
            process.stderr.write(
              `toil: --force: killed the leader (pid ${request.leader.pid}) on this machine\n`,
            );
          } catch (e) {
            process.stderr.write(
              `toil: --force: could not signal the leader (pid ${request.leader.pid}): ${(e as Error).message}\n`,
            );
          }
        }
        // The dead leader's jobs in a cluster batch system run on without it: --force stops them too.
        let cancelFailed = false;
        if (here && !(await gone(request.leader.pid, clock))) {
          process.stderr.write(
            `toil: --force: the leader (pid ${request.leader.pid}) still runs, so its jobs are left to it: it kills them when it sees the request\n`,
          );
        } else if (here || deadDaemon) {
          // The cancelling (Mesos, Slurm and zod) loads only for a dead leader's jobs.
          const { cancelLeftJobs } = await import('../main/forceCancel.js');
          for (const report of await cancelLeftJobs(store)) {
            process.stderr.write(`${report.line}\n`);
            if (!report.ok) cancelFailed = true;
          }
          // A dead toil run --provisioner aws leaves its nodes running: cancelling its jobs does not
          // end them, and only its state names them.
          const left = await leftByDeadRun(jobStore, undefined);
          if (left) process.stderr.write(leftByRunLines(left, clock.now()));
        } else if (flags.force && !daemon) {
          process.stderr.write(
            `toil: --force: the leader runs on ${request.leader.host}, not on this machine, and cannot be killed from here; ` +
              `it stops at its next look at the job store (within ${KILL_POLL_MS / 1000} s)\n`,
          );
        }
        if (waitS === 0) return setExitCode(cancelFailed ? 1 : 0);
        const deadline = clock.now() + waitS * 1000;
        while (clock.now() < deadline) {
          const exists = await store.exists();
          const leader = exists ? await currentLeader(store) : undefined;
          const killed = (forced && !processAlive(request.leader.pid)) || deadDaemon;
          // A store --clean is deleting has lost its lease record (it goes last) but not yet the
          // rest: it is neither kept nor gone until the next look.
          const deleting =
            exists &&
            !leader &&
            !killed &&
            (await readLeaseRecord(store.objects).catch(() => null)) === undefined;
          if (!deleting && (killed || !leader || leader.generation !== request.generation)) {
            // Asked in the last moments of a run (its finish), the leader ended it as it was going
            // to: said so, rather than that it was stopped. A store --clean deleted tells neither
            // (it deletes a stopped run's too, with --clean always or onError).
            const outcome = exists && !killed ? await store.readOutcome().catch(() => undefined) : undefined;
            const finished = outcome?.generation === request.generation && outcome.status === 'succeeded';
            // Stopped before its start() returned, no job was running: said as what it was (a
            // leader daemon's workflow resumes otherwise, and says so itself).
            const inStart =
              exists && !killed && !finished && !daemon && !(await store.readWorkflow().catch(() => true));
            // Stopped after every job ran, in the workflow's finish(): a --restart runs only that.
            // Telling reads every job's commit, so a store too large to read in moments gets the
            // general line, which is as true (a --restart resumes the workflow either way).
            const inFinish =
              exists &&
              !finished &&
              !inStart &&
              (!daemon || daemon.run !== undefined) &&
              (await Promise.race([
                everyJobRan(store),
                new Promise<false>((resolve) => setTimeout(resolve, FINISH_CHECK_MS, false).unref()),
              ]));
            const resume =
              daemon && daemon.run === undefined
                ? 'submit the workflow to the leader again to resume it'
                : 'toil run … --restart resumes the workflow';
            process.stderr.write(
              finished
                ? 'toil: the workflow had already finished when its leader could see the request: nothing was stopped\n'
                : inStart
                  ? `toil: the leader has stopped before its workflow's start() returned: no job had run; the job store ${store.locator} is kept, with no job in it yet (toil run … --restart starts the workflow in it)\n`
                  : inFinish
                    ? `toil: the leader has stopped in its workflow's finish(): every job had run; the job store ${store.locator} is kept (toil run … --restart runs finish() again, and no job)\n`
                    : exists
                      ? `toil: the leader has stopped; the job store ${store.locator} is kept (${resume})\n`
                      : killed
                        ? 'toil: the leader has stopped\n'
                        : `toil: the leader has stopped, and its job store ${store.locator} is gone (its --clean deleted it)\n`,
            );
            return setExitCode(cancelFailed ? 1 : 0);
          }
          await clock.sleep(500);
        }
        process.stderr.write(`toil: the leader has not stopped within ${waitS} s\n`);
        setExitCode(1);
      },
    );
  },
};

/**
 * The leader the store's lease names when it is a `toil run` (of its own, or one with
 * --provisioner aws) of this machine that is gone: it reads no kill request, and its --restart
 * leads as a new generation. A daemon's request is kept for it (restarted, it does not resume the
 * workflow), and a leader elsewhere cannot be proved gone.
 */
async function deadRunLeader(
  store: JobStore,
): Promise<{ holder: LeaseHolder; generation: number; what: string } | undefined> {
  await store.assertExists();
  const leader = await currentLeader(store);
  if (!leader || !runsHere(leader.holder)) return undefined;
  const { holder, generation } = leader;
  if (holder.daemon && !holder.daemon.run) return undefined;
  if (processAlive(holder.pid) && isToilProcess(holder.pid)) return undefined;
  return { holder, generation, what: holder.daemon ? 'toil run --provisioner aws' : 'toil run' };
}

/**
 * Whether the leader is gone (a SIGKILLed one is, within moments; a zombie is no toil process any
 * more). Its jobs are cancelled only then: a leader still alive could start more, or stop its own.
 */
async function gone(pid: number, clock: Clock): Promise<boolean> {
  const deadline = clock.now() + 5_000;
  const alive = (): boolean => processAlive(pid) && isToilProcess(pid);
  while (alive() && clock.now() < deadline) await clock.sleep(50);
  return !alive();
}
