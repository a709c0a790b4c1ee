import { Option, type Command } from 'commander';
import type { FailureLog } from '../jobstore/jobRecords.js';
import { DEFAULT_LEASE_MS, LEADER_KEY } from '../jobstore/lease.js';
import { failureLogs, workflowStatusAndJobs, type WorkflowStatus } from '../leader/workflowStatus.js';
import { formatDuration } from '../common/units.js';
import { prepareWorkDir } from '../main/env.js';
import { openJobStore } from '../main/jobStores.js';
import { leftByDeadRun, leftByRunLines } from './autoscaleRunState.js';
import {
  addForeignOptions,
  checkForeignOptions,
  utilityCommonOptions,
  type ForeignOption,
} from './foreignOptions.js';
import type { SubCommand } from './main.js';
import { STORE_UNREACHABLE_HELP, storeReadingOptions } from './storeUnreachable.js';
import { childrenLines, dotGraph } from './statusGraph.js';
import { lastLogFiles, namedJobs, perJobLines } from './statusPerJob.js';
import { jobCounts, lostLines, runningLines, runningNow, type RunningNow } from './statusRunning.js';

interface Flags {
  json?: boolean;
  failIfNotComplete?: boolean;
  printLogs?: boolean;
  logs?: boolean;
  printFailed?: boolean;
  failed?: boolean;
  noAggStats?: boolean;
  printChildren?: boolean;
  children?: boolean;
  printDot?: boolean;
  dot?: boolean;
  printStatus?: boolean;
  status?: boolean;
  perJob?: boolean;
  printPerJobStats?: boolean;
  jobs?: string[];
  workDir?: string;
}

/** The options every Toil utility takes, which `toil status` ignores saying why (src/cli/foreignOptions.ts). */
const FOREIGN: readonly ForeignOption[] = utilityCommonOptions('toil status');

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const cmd = program
      .command('status')
      .description(
        'Show how far the workflow in a job store has got: jobs declared, completed, ready to run; and check ' +
          'every object in it against its recorded length and SHA-256, and that every file its jobs take or return is there, listing the damaged ones. ' +
          'Exit codes: 0 intact, 1 damaged objects found (or, with --failIfNotComplete, the workflow not finished), 2 bad input, ' +
          `${STORE_UNREACHABLE_HELP}.`,
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option('--json', 'print one JSON object instead of text')
      .option('--failIfNotComplete', 'exit 1 unless the workflow has finished')
      .option(
        '--perJob',
        "a line per job, in Toil's format: JOB:'NAME' ID, its state (COMPLETED, COMPLETELY_FAILED, READY_TO_RUN or WAITING), " +
          "HAS_SERVICES, IS_SERVICE, LOG_FILE (its last failed attempt's log) and CHILD_NUMBER (its successors) where they apply; " +
          "not Toil's TRYS_REMAINING (the tries left are the running leader's count, not kept with the job) nor IS_ZOMBIE " +
          '(toil-ts keeps every job that ran: COMPLETED) (also --printPerJobStats)',
      )
      .option(
        '--jobs <id...>',
        'report only on these jobs (their ids, as --perJob prints them): --perJob, --printLogs, --printFailed, ' +
          '--printChildren, --printDot and the jobs --printStatus lists, not the summary; alone, it prints their --perJob lines; ' +
          'put it after the job store, as it takes every word up to the next option',
      )
      .option('--printLogs', 'print the log of every failed attempt kept in the job store (also --logs)')
      .option('--printFailed', 'list the jobs that failed for good (also --failed)')
      .option(
        '--printChildren',
        "list each job with its children and follow-ons, in Toil's format (also --children)",
      )
      .option(
        '--printDot',
        'print the job graph in Graphviz dot: jobs with their states, edges to successors (also --dot)',
      )
      .option(
        '--printStatus',
        "list the jobs running now: each one's batch system id, node and time running, as the leader holding the store recorded them within seconds (also --status)",
      )
      .option(
        '--workDir <dir>',
        "where `toil run --provisioner aws` keeps its nodes' record (as that run: TOIL_WORKDIR_OVERRIDE, else this, else TOIL_WORKDIR, else the temp dir)",
      )
      .option(
        '--noAggStats',
        'leave out the summary (with --perJob, --printLogs, --printFailed, --printChildren, --printDot or --printStatus, print only those)',
      );
    // Toil's second spellings of the same switches.
    for (const alias of ['--printPerJobStats', '--logs', '--failed', '--children', '--dot', '--status'])
      cmd.addOption(new Option(alias).hideHelp());
    addForeignOptions(cmd, FOREIGN).action(async (jobStore: string, flags: Flags) => {
      setExitCode(await report(jobStore, flags));
    });
  },
};

/** Prints the report `flags` ask for; returns the exit code (0 intact, 1 damaged or not finished). */
async function report(jobStore: string, flags: Flags): Promise<number> {
  for (const notice of checkForeignOptions(flags, FOREIGN)) process.stderr.write(`${notice}\n`);
  // A --workDir that does not exist holds no run's record: said as the mistake it is, not as
  // "no nodes left" (the run's record may be in the directory that was meant).
  if (flags.workDir !== undefined) await prepareWorkDir(flags.workDir, process.env, 'read');
  const now = Date.now();
  const store = openJobStore(jobStore, storeReadingOptions('status'));
  const { status: s, jobs: allJobs } = await workflowStatusAndJobs(store, now);
  const damaged = s.damaged.map((d) => `  ${d.key}: ${d.reason}${d.remedy ? `; ${d.remedy}` : ''}`);
  const printChildren = flags.printChildren || flags.children;
  const printDot = flags.printDot || flags.dot;
  const printStatus = flags.printStatus || flags.status;
  const printLogs = flags.printLogs || flags.logs;
  const printFailed = flags.printFailed || flags.failed;
  // --jobs with nothing to restrict would be ignored: it asks for a report on those jobs.
  const perJob =
    flags.perJob ||
    flags.printPerJobStats ||
    (flags.jobs !== undefined && !(printChildren || printDot || printStatus || printLogs || printFailed));
  const jobs = flags.jobs ? namedJobs(allJobs, flags.jobs, s.locator) : allJobs;
  const chosen = flags.jobs ? new Set(jobs.map((j) => j.id)) : undefined;
  const isChosen = (jobId: string): boolean => !chosen || chosen.has(jobId);
  const logFiles = perJob ? await lastLogFiles(store) : undefined;
  // The summary counts what the leader holding the store runs and holds back, too.
  const runningRecord = printStatus || s.leader !== undefined ? await runningNow(store, now) : undefined;
  const running = printStatus ? runningRecord : undefined;
  // An autoscaled run whose leader is gone leaves its nodes running with nothing to retire them.
  const left = s.leader ? undefined : await leftByDeadRun(jobStore, flags.workDir);
  if (flags.json) {
    const logs = printLogs
      ? { failureLogs: (await failureLogs(store)).filter((l) => isChosen(l.jobId)) }
      : {};
    const runningJobs = running
      ? { running: { ...running, jobs: running.jobs.filter((j) => isChosen(j.jobId)) } }
      : {};
    const graph =
      printChildren || printDot || perJob
        ? { graph: jobs.map((j) => (logFiles?.has(j.id) ? { ...j, logFile: logFiles.get(j.id) } : j)) }
        : {};
    process.stdout.write(
      `${JSON.stringify({ ...s, ...logs, ...graph, ...runningJobs, ...(left ? { leftRunning: left } : {}) })}\n`,
    );
  } else {
    // In Toil's order: per-job lines, logs, children, graph, failed jobs, summary.
    if (logFiles) process.stdout.write(perJobLines(jobs, logFiles));
    if (printLogs) {
      const logs = (await failureLogs(store)).filter((l) => isChosen(l.jobId));
      process.stdout.write(
        logs.length > 0
          ? logs.map(formatLog).join('')
          : chosen
            ? 'no failed attempt of the jobs --jobs names has a log in the job store\n'
            : 'no failed attempt has a log in the job store\n',
      );
    }
    if (printChildren) process.stdout.write(childrenLines(jobs));
    if (printDot) process.stdout.write(dotGraph(s.locator, jobs));
    if (printFailed) {
      const failed = s.failedJobs.filter((j) => isChosen(j.jobId));
      process.stdout.write(
        // A bare heading would read as a list cut short.
        (failed.length === 0
          ? ['Failed jobs: none']
          : ['Failed jobs:', ...failed.map((j) => `${j.name} (${j.jobId}): ${j.error}`)]
        ).join('\n') + '\n',
      );
    }
    if (!flags.noAggStats) process.stdout.write(summary(s, damaged, runningRecord, now));
    if (left) process.stdout.write(leftByRunLines(left, now));
    // Toil prints the running jobs after its summary.
    if (running)
      process.stdout.write(
        runningLines(running, s.locator, now, {
          ...(chosen ? { only: isChosen } : {}),
          // A run that ended (finished, failed, or every job ran) stopped its jobs: none of a
          // leader killed with -9 can be left. No workflow record: none was ever issued.
          runEnded: !s.workflowId || s.finished || s.failed || s.finishPending === true,
        }),
      );
  }
  const unfinished = Boolean(flags.failIfNotComplete) && !s.finished;
  return s.damaged.length > 0 || unfinished ? 1 : 0;
}

/** One failed attempt: its job, its error, the lines it logged and the tail of its output. */
function formatLog(log: FailureLog): string {
  return (
    [
      `=== log of job ${log.name} (${log.jobId}), attempt ${log.attempt} ===`,
      `error: ${log.error}`,
      ...log.logs.map((l) => `${new Date(l.time).toISOString()} ${l.level}: ${l.message}`),
      ...(log.output ? ['output (tail):', log.output.trimEnd()] : []),
    ].join('\n') + '\n'
  );
}

function summary(
  s: WorkflowStatus,
  damaged: readonly string[],
  running: RunningNow | undefined,
  now: number,
): string {
  if (!s.workflowId)
    return (
      [
        s.damaged.some((d) => d.key === 'workflow.json')
          ? `job store ${s.locator}: its workflow record is damaged`
          : s.leader
            ? `job store ${s.locator}: no workflow yet: ${s.leader} holds the store and is starting the workflow (its start() is running)`
            : `job store ${s.locator}: no workflow (it was interrupted while starting)`,
        ...(damaged.length > 0 ? [`damaged:    ${damaged.length} object(s)`, ...damaged] : []),
      ].join('\n') + '\n'
    );
  return (
    [
      `job store:  ${s.locator}`,
      `workflow:   ${s.workflowId} (${s.workflowFile}), started ${new Date(s.createdAt!).toISOString()}`,
      `jobs:       ${s.jobs.completed} completed of ${s.jobs.known} declared so far, ${s.jobs.ready} ready to run` +
        (s.failedJobs.length > 0 ? `, ${s.failedJobs.length} failed for good` : ''),
      ...(running ? nowLine(running, now) : []),
      ...(running ? lostLines(running, now) : []),
      `failures:   ${s.failedAttempts} failed attempt(s) logged`,
      `state:      ${stateLine(s)}`,
      ...s.failedJobs.map((j) => `  failed:   ${j.name} (${j.jobId}): ${j.error}`),
      damagedLine(s.damaged),
      ...damaged,
    ].join('\n') + '\n'
  );
}

/** How many objects are damaged, and how many of them the user must restore (see damageRemedy). */
function damagedLine(damaged: WorkflowStatus['damaged']): string {
  if (damaged.length === 0)
    return 'damaged:    none (every object matches its length and SHA-256, and every file the jobs name is there)';
  const toRestore = damaged.filter((d) => d.remedy === undefined).length;
  if (toRestore === damaged.length)
    return `damaged:    ${damaged.length} object(s) (restore them, or 'toil clean' and run the workflow again)`;
  if (toRestore === 0)
    return `damaged:    ${damaged.length} object(s), none to restore (each line says what becomes of it)`;
  return `damaged:    ${damaged.length} object(s), ${toRestore} to restore (restore them, or 'toil clean' and run the workflow again; each other line says what becomes of it)`;
}

/**
 * Of the jobs ready to run, those the running leader has issued and those it holds back by a job
 * limit (--maxJobs, a service limit), as its record says (and the progress bar and the leader's
 * status page say them); none before its first record.
 */
function nowLine(r: RunningNow, now: number): string[] {
  if (!r.leader || r.at === undefined) return [];
  const { running, waiting, held } = jobCounts(r);
  return [
    `now:        ${running} running, ${waiting} issued and waiting to start, ${held} held by a job limit (--maxJobs, --maxServiceJobs), as of ${formatDuration(Math.max(0, now - r.at))} ago`,
  ];
}

function stateLine(s: WorkflowStatus): string {
  if (s.finished) return 'finished';
  if (s.failed && s.failedJobs.some((j) => j.committed))
    return `failed: ${s.failedJobs.length} job(s) failed for good (a job's input or the workflow's result cannot be built from values jobs committed, which --restart does not change: fix the workflow, 'toil clean JOBSTORE' and run it anew)`;
  if (s.failed)
    return `failed: ${s.failedJobs.length} job(s) failed for good (fix the cause, then 'toil run WORKFLOW JOBSTORE --restart')`;
  if (s.leader) return `running: ${s.leader} holds the store (--printStatus lists what runs)`;
  if (s.damaged.some((d) => d.key === LEADER_KEY))
    return `not finished; which leader holds the store cannot be told, its lease record ${LEADER_KEY} is damaged (a leader still running rewrites it within ${DEFAULT_LEASE_MS / 3000} s, or stops; if it stays damaged, none runs, and none can take the store over: restore ${LEADER_KEY} to resume)`;
  // A daemon resumes a workflow submitted to it again; --restart is a run of its own's word for it.
  const kill = s.stoppedByKill;
  const by = kill
    ? `toil kill (from ${kill.host}, pid ${kill.pid}, at ${new Date(kill.at).toISOString()})`
    : undefined;
  if (kill?.leader === 'daemon')
    return `not finished and stopped by ${by} while a leader daemon ran it; the job store is kept: submit the workflow to the leader again to resume it ('toil run WORKFLOW JOBSTORE --leader URL')`;
  // A leader killed outright (-9, its machine lost) left no word of why it stopped: only that the
  // jobs all ran and the finish did not complete (it never began, threw, or was abandoned by a stop).
  if (s.finishPending)
    return by
      ? `not finished: every job ran, but ${by} stopped the leader before the workflow's finish completed; no leader holds the store ('toil run WORKFLOW JOBSTORE --restart' runs the finish and completes it)`
      : "not finished: every job ran, but the workflow's finish did not complete and no leader holds the store ('toil run WORKFLOW JOBSTORE --restart' runs the finish and completes it)";
  if (by)
    return `not finished and stopped by ${by}; no leader holds the store (resume with 'toil run WORKFLOW JOBSTORE --restart')`;
  return "not finished and stopped: no leader holds the store (resume with 'toil run WORKFLOW JOBSTORE --restart')";
}
