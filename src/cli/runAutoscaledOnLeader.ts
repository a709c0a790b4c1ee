import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RealClock } from '../common/clock.js';
import { ToilError, UserInputError } from '../common/errors.js';
import { parseLocator } from '../jobstore/locator.js';
import { runOutput } from './toilRunOptions.js';
import { STORE_UNREACHABLE_EXIT } from './storeUnreachable.js';
import { TOIL_JOB_DEFAULTS, type JobDefaults } from '../leader/submission.js';
import { cancelWorkflow, followWorkflow, submitWorkflow } from '../leader/submitClient.js';
import { countOf, formatDuration } from '../common/units.js';
import { failedJobHeadline } from '../leader/workflowRunner.js';
import { lostAttemptLine, MAX_LOST_LISTED } from '../leader/lostAttempts.js';
import type { WorkflowRun } from '../leader/daemon.js';
import { givenDefaultPreemptable, runJobPolicy, type RunFlags } from './run.js';
import { CANCELLED_EXIT, onStopSignals, signalExitCode } from './untilSignal.js';

/** How long a submission is sent again while the leader restarts, before its refusal is the answer. */
const LEADER_RESTART_WAIT_MS = 60_000;

/** What `toil run` says of the workflow's arguments, wherever the workflow runs. */
export interface ArgsSaid {
  /** Lines said once the workflow took its arguments (toilFlagTypos). */
  readonly takenNotices: readonly string[];
  /** A refusal's message with the toil option an argument it names was meant to be (toilFlagHint). */
  readonly hint: (message: string) => string;
}

/**
 * `toil run WORKFLOW JOBSTORE … --leader URL`: the workflow runs inside a `toil leader` daemon
 * (on its autoscaled cluster) instead of in this process. Paths are made absolute here because
 * the daemon resolves nothing against our working directory; it reads the workflow file and a
 * `file:` job store from its own file system (same machine), and refuses a file it cannot read.
 * Exit codes are a local run's: 0 succeeded, 1 a job failed for good, 2 refused (bad input), 3 the
 * job store could not be reached or read, 130 cancelled (by `toil cancel`, or by Ctrl-C here; 143
 * for SIGTERM here).
 */
export async function runOnLeader(
  leaderUrl: string,
  token: string | undefined,
  workflowFile: string,
  jobStoreText: string,
  args: readonly string[],
  flags: RunFlags,
  /** What a local run says of its arguments: the lines once they are taken, the hint on a refusal. */
  said: ArgsSaid = { takenNotices: [], hint: (m) => m },
): Promise<number> {
  const locator = parseLocator(jobStoreText);
  const jobStore = locator.kind === 'file' ? `file:${locator.path}` : locator.text;
  const defaultPreemptable = givenDefaultPreemptable(flags);
  const { retryCount, preemptableRetries, clean, defaults, env, servicePollMs, deadlockWaitMs, ...limits } =
    runJobPolicy(flags);
  const clock = new RealClock();
  // The leader logs this workflow; here only the notices, the progress and the outcome are printed.
  // Without a terminal there is no bar: a line whenever the counts change, at most once a second
  // (the leader's log is not here to show the run moving).
  const { console: out } = runOutput(flags, clock, 1000);
  const started = clock.now();
  // A leader restarting (a 503 as it stops or starts, its port closed in between) takes the
  // submission once it is back: failing at once made a restart of the leader fail every run sent then.
  const retry = {
    clock,
    forMs: LEADER_RESTART_WAIT_MS,
    onRetrying: (why: string) =>
      out.line(
        `toil: leader ${leaderUrl} is restarting (${why}): retrying for up to ${LEADER_RESTART_WAIT_MS / 1000} s`,
      ),
  };
  const run = await submitWorkflow(
    leaderUrl,
    token,
    {
      workflowFile: resolve(workflowFile),
      jobStore,
      args,
      ...(defaultPreemptable !== undefined ? { defaultPreemptable } : {}),
      // Toil's flags for how a run treats failures, spot losses and jobs declaring nothing hold on
      // the leader too (the defaults are sent only when not Toil's, which are also the leader's).
      retryCount,
      preemptableRetries: Number.isFinite(preemptableRetries) ? preemptableRetries : 'unlimited',
      clean,
      servicePollMs,
      deadlockWaitMs,
      ...limits,
      ...(sameDefaults(defaults, TOIL_JOB_DEFAULTS) ? {} : { defaults }),
      env,
    },
    retry,
  );
  out.line(`toil: submitted workflow ${run.id} to the leader at ${leaderUrl}`);
  // Ctrl-C (or SIGTERM) stops the workflow, as it does a local run: left running on the leader,
  // a hung job would hold its node with nobody watching. A second signal stops following at once.
  const follow = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted !== undefined) process.exit(signalExitCode(signal));
    interrupted = signal;
    follow.abort();
  };
  const offSignals = onStopSignals(onSignal);
  // The run as last seen: a Ctrl-C whose cancel the leader did not take says what it had lost by then.
  let polled: WorkflowRun | undefined;
  const following = followWorkflow(leaderUrl, run.id, {
    clock,
    signal: follow.signal,
    ...(token !== undefined ? { token } : {}),
    onSilent: (cause, giveUpAfterMs) => {
      out.line(
        `toil: the leader at ${leaderUrl} does not answer (${cause.message}); waiting up to ` +
          `${Math.round(giveUpAfterMs / 1000)} s for it to come back (a restarted leader resumes the workflow)`,
      );
    },
    onBack: (silentForMs) => out.line(`toil: the leader answers again after ${formatDuration(silentForMs)}`),
    // Said as the leader's log says them (a local run's): the leader's log is not here to read.
    onLost: (lost, unlisted) => {
      for (const l of lost) out.line(`toil: ${lostAttemptLine(l)}`);
      if (unlisted > 0)
        out.line(
          `toil: ${countOf(unlisted, 'more attempt')} lost with their node, not listed by the leader (it keeps the last ${MAX_LOST_LISTED})`,
        );
    },
    onProgress: (p) => out.progress(p),
    // Said as a local run's log says it: the leader's log, where it is too, is not here to read.
    onNotice: (line) => out.line(`toil: WARNING on the leader: ${line}`),
    onArgsTaken: () => {
      for (const line of said.takenNotices) out.line(line);
    },
    onRun: (r) => (polled = r),
  });
  const final = await following.then(
    (r) => r,
    (e: unknown) => {
      if (interrupted !== undefined) return undefined;
      if (e instanceof ToilError && e.code === 'WORKFLOW_UNKNOWN') return e;
      throw e;
    },
  );
  out.endProgress();
  // An ending whose own line does not count the losses: they are said after it, as a failed run's,
  // so a run cancelled after an hour of spot reclaims still ends saying how many there were.
  const sayLost = (run: WorkflowRun | undefined): void => {
    const lost = run && lostSaid(run);
    if (lost) out.line(`toil: ${lost} in this run`);
  };
  if (final === undefined) {
    out.line(`toil: ${interrupted}: cancelling workflow ${run.id} on the leader at ${leaderUrl}`);
    try {
      // The leader's answer is the run as it had it when the cancel was taken: newer than the last poll.
      const cancelled = await cancelWorkflow(leaderUrl, token, run.id);
      out.line(
        clean === 'always' || clean === 'onError'
          ? `toil: workflow ${run.id} cancelled; the leader deletes the job store ${jobStore} (--clean ${clean})`
          : `toil: workflow ${run.id} cancelled; the job store ${jobStore} is kept; submit again to restart it`,
      );
      sayLost(cancelled);
    } catch (e) {
      out.line(
        `toil: could not cancel workflow ${run.id} (${(e as Error).message}); it may still be running there: ` +
          `toil cancel ${run.id} --leader ${leaderUrl}`,
      );
      sayLost(polled);
    } finally {
      offSignals();
    }
    return signalExitCode(interrupted ?? 'SIGINT');
  }
  offSignals();
  // A leader restarted without its state: the workflow's fate is in its job store, not here.
  if (final instanceof ToilError) {
    out.line(`toil: ${final.message}; toil status ${jobStore} says how far it got`);
    sayLost(polled);
    return 1;
  }
  const elapsed = clock.now() - started;
  const lost = lostSaid(final);
  if (final.status === 'succeeded') {
    out.line(
      `toil: workflow succeeded on the leader: ${countOf(final.jobsRun ?? 0, 'job')} run` +
        (final.jobsReplayed ? ` (${final.jobsReplayed} already done before the run resumed)` : '') +
        ` in ${formatDuration(elapsed)}` +
        (lost ? `; ${lost}` : ''),
    );
    return 0;
  }
  // Cancelled by its user (toil cancel, DELETE /workflows/:id), maybe from elsewhere: said so, with
  // from where and when, and not as a failure.
  if (final.status === 'cancelled') {
    const what = final.message ?? `workflow ${run.id} cancelled at the leader`;
    out.line(
      final.messageSaysResume
        ? `toil: ${what}`
        : `toil: ${what}; the job store ${jobStore} is kept; submit again to restart it`,
    );
    sayLost(final);
    return CANCELLED_EXIT;
  }
  // Stopped on purpose, not failed: its message says by whom, and that submitting it again resumes it.
  if (final.stoppedByKill) {
    out.line(`toil: ${final.message ?? `workflow ${run.id} was stopped by toil kill`}`);
    sayLost(final);
    return 1;
  }
  // The store, not the workflow: its one line says what could not be read and that a rerun follows
  // the fix, and the exit code is a local run's for it (3), so a script tells the two apart.
  if (final.storeUnreachable) {
    out.line(
      `toil: the leader at ${leaderUrl}: ${final.message ?? 'its job store could not be reached or read'}`,
    );
    sayLost(final);
    return STORE_UNREACHABLE_EXIT;
  }
  const failure = final.message ?? 'no reason given';
  // A workflow's refusal of an argument one typo from a toil option names the option meant.
  out.line(`toil: workflow failed on the leader: ${final.userError ? said.hint(failure) : failure}`);
  sayLost(final);
  // Each failed job's error and the end of its log, as a local run prints them: the message above
  // is one line per job, without the stack that says where.
  for (const job of final.failedJobs ?? []) {
    out.line(`toil: ${failedJobHeadline(job)}:`);
    for (const l of job.logTail.split('\n')) out.line(`    ${l}`);
    if (job.neverRan) out.line(`toil:   because of it, ${job.neverRan}`);
  }
  if (final.failedJobs?.some((job) => job.committed))
    // Every job's value is committed: a resubmission would build the same result and fail the same way.
    out.line(
      `toil: the job store ${jobStore} is kept, but submitting again cannot help: what failed (a job's input, or the workflow's result) is built from values jobs already committed, which a restart does not change; fix the workflow (what a job returns, or the promise's path) and run it anew (toil clean ${jobStore} first, or another job store)`,
    );
  // A message that says so already (a run stopped by toil kill) is not said twice; a run refused
  // as bad input (a job too big for every node type) fails the same way when submitted again.
  else if (!final.messageSaysResume && !final.userError)
    out.line(
      final.storeRemoved
        ? `toil: the workflow did not start, and its job store ${jobStore} was removed: submitting again starts it anew`
        : `toil: the job store ${jobStore} is kept; submit again to restart it`,
    );
  return final.userError ? 2 : 1;
}

/**
 * The leader's bearer token for `--leader`: the flag, else $TOIL_LEADER_TOKEN, else the file
 * $TOIL_LEADER_TOKEN_FILE names (the leader appliance sets it to the token beside its state).
 * An empty token, or one of several words, is refused here, naming where it came from: sent, the
 * leader could only call the request's header malformed, and never say which input made it.
 */
export async function leaderToken(flag: string | undefined): Promise<string | undefined> {
  if (flag !== undefined) return wellFormedToken(flag.trim(), '--leaderToken');
  const fromEnv = process.env.TOIL_LEADER_TOKEN?.trim();
  if (fromEnv) return wellFormedToken(fromEnv, 'TOIL_LEADER_TOKEN');
  const file = process.env.TOIL_LEADER_TOKEN_FILE?.trim();
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UserInputError(
      'TOKEN_UNREADABLE',
      `TOIL_LEADER_TOKEN_FILE ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return wellFormedToken(text.trim(), `TOIL_LEADER_TOKEN_FILE ${file}`);
}

function wellFormedToken(token: string, source: string): string {
  const words = token.split(/\s+/).filter((w) => w !== '').length;
  if (words === 1) return token;
  throw new UserInputError(
    'TOKEN_MALFORMED',
    `${source}: ${words === 0 ? 'the token is empty' : `the token is ${words} words`}; expected the leader's token alone, one word (it is in the leader's token file, http.auth.tokenFile, beside its state)`,
  );
}

/** How many attempts the run lost with their node, as its last line says it; none: undefined. */
function lostSaid(run: WorkflowRun): string | undefined {
  const n = run.lostCount ?? 0;
  return n === 0 ? undefined : `${countOf(n, 'attempt')} lost with ${n === 1 ? 'its' : 'their'} node`;
}

const sameDefaults = (a: JobDefaults, b: JobDefaults): boolean =>
  a.cores === b.cores && a.memory === b.memory && a.disk === b.disk;
