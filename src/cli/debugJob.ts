import { prepareWorkDir } from '../main/env.js';
import type { Command } from 'commander';
import { formatBytes } from '../common/units.js';
import type { Json, LogLine } from '../jobstore/jobRecords.js';
import { debugJobInfo, findJob, type DebugJobInfo } from '../leader/debugJob.js';
import { openJobStore } from '../main/jobStores.js';
import { runWorkerJob } from '../workflow/worker.js';
import {
  addForeignOptions,
  checkForeignOptions,
  refused,
  utilityCommonOptions,
  type ForeignOption,
} from './foreignOptions.js';
import type { SubCommand } from './main.js';
import { STORE_UNREACHABLE_HELP, storeReadingOptions } from './storeUnreachable.js';

interface Flags {
  printJobInfo?: boolean;
  workDir?: string;
}

const FOREIGN: readonly ForeignOption[] = [
  ...refused(
    'value',
    'toil-ts runs the job here, in this process: its scratch space is under --workDir while it runs, and print statements or a debugger (node --inspect) show what it does',
    '--retrieveTaskDirectory',
  ),
  // The options every Toil utility has (Toil's debug-job takes them).
  ...utilityCommonOptions('toil debug-job', {
    log: "toil debug-job shows the job's output and every line it logs, as it runs",
    temp: "toil debug-job's scratch space is --workDir",
  }),
];

/** The attempt number a debug run's job sees: no leader issued it, and nothing of it is recorded. */
const DEBUG_ATTEMPT = 0;

export const command: SubCommand = {
  register(program: Command, _setExitCode: (code: number) => void): void {
    const cmd = program
      .command('debug-job')
      .description(
        'Run one job of a job store here, in the foreground, to see why it fails: its output and log lines ' +
          'are shown as it runs, under a debugger if node runs with --inspect. The workflow is left as it was: ' +
          'nothing is committed, no failure is logged, the files the job writes are deleted again. ' +
          'JOB is a job id, or a job name (if several jobs have it, the one that failed for good). ' +
          `Exit codes: 0 the job returned, 1 it threw (the error and its stack are shown), 2 bad input, ${STORE_UNREACHABLE_HELP}.`,
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .argument('<job>', 'a job id, or a job name')
      .option('--printJobInfo', 'print what the job store holds of the job instead of running it')
      .option(
        '--workDir <dir>',
        "the job's local scratch space (default: TOIL_WORKDIR, else the OS temp dir; TOIL_WORKDIR_OVERRIDE wins over both; it must exist)",
      );
    addForeignOptions(cmd, FOREIGN).action(async (locator: string, query: string, flags: Flags) => {
      for (const notice of checkForeignOptions(flags, FOREIGN)) process.stderr.write(`${notice}\n`);
      const workDir = await prepareWorkDir(flags.workDir);
      const store = openJobStore(locator, storeReadingOptions('debug-job'));
      const { ticket, failedForGood, notices, declared } = await findJob(store, query);
      for (const notice of notices) process.stderr.write(`toil: ${notice}\n`);
      if (flags.printJobInfo) {
        process.stdout.write(formatInfo(await debugJobInfo(store, ticket, failedForGood, declared)));
        return;
      }
      const job = `job '${ticket.name}' (${ticket.jobId})`;
      process.stderr.write(`toil: running ${job} here; nothing it does is committed\n`);
      const result = await runWorkerJob(store, ticket.jobId, DEBUG_ATTEMPT, {
        workDir,
        debugRun: { onLog: (line) => process.stderr.write(formatLogLine(ticket.name, line)) },
      });
      if (result.outcome === 'debugged') {
        process.stderr.write(`toil: ${job} returned (not committed)\n`);
      } else {
        // Its output went by as it ran: the error (with the workflow's stack frames) is enough.
        process.stderr.write(`toil: ${job} failed: ${result.error ?? result.message ?? result.outcome}\n`);
      }
      // Done: a timer or socket the job left open must not keep the command running (as a worker).
      process.exit(result.outcome === 'debugged' ? 0 : 1);
    });
  },
};

function formatLogLine(name: string, line: LogLine): string {
  return `${new Date(line.time).toISOString()} ${line.level} [${name}]: ${line.message}\n`;
}

/** One line if short, else indented over several (a long input stays readable). */
function formatJson(value: Json): string {
  const line = JSON.stringify(value);
  return line.length <= 100 ? line : `\n${JSON.stringify(value, null, 2).replace(/^/gm, '    ')}`;
}

function formatInfo(info: DebugJobInfo): string {
  const { ticket, commit } = info;
  const r = ticket.requirements;
  const requirements = [
    `cores ${r.cores}`,
    `memory ${formatBytes(r.memory)}`,
    `disk ${formatBytes(r.disk)}`,
    `preemptable ${r.preemptable ? 'yes' : 'no'}`,
    ...(r.walltimeMs === undefined ? [] : [`walltime ${r.walltimeMs / 1000} s`]),
  ].join(', ');
  const ran = commit
    ? `yes: committed by attempt ${commit.attempt} in ${commit.wallTimeMs} ms, returned ${JSON.stringify(commit.returnValue)}`
    : 'no (no commit in the job store)';
  return (
    [
      `job:           ${ticket.name}`,
      `id:            ${ticket.jobId}`,
      `workflow:      ${ticket.workflowId}`,
      `input:         ${formatJson(ticket.input)}`,
      `requirements:  ${requirements}`,
      // Toil's Job(checkpoint=...): after the requirements, as its constructor takes them.
      `checkpoint:    ${typeof info.checkpoint === 'object' ? `unknown (${info.checkpoint.unknown})` : info.checkpoint ? 'yes' : 'no'}`,
      ...(ticket.env ? [`environment:   ${Object.keys(ticket.env).sort().join(', ')}`] : []),
      `ran:           ${ran}`,
      `failed:        ${info.failedAttempts.length} attempt(s) logged${failedForGoodSaid(info.failedForGood)}`,
      ...info.failedAttempts.map((l) => `  attempt ${l.attempt}: ${l.error.split('\n')[0]}`),
    ].join('\n') + '\n'
  );
}

function failedForGoodSaid(failedForGood: DebugJobInfo['failedForGood']): string {
  if (typeof failedForGood === 'object')
    return `; failed for good in the last run: unknown (${failedForGood.unknown})`;
  return failedForGood ? '; failed for good in the last run' : '';
}
