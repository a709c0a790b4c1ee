import type { Command } from 'commander';
import { workflowStatus, type WorkflowStatus } from '../leader/workflowStatus.js';
import { openJobStore } from '../main/jobStores.js';
import type { SubCommand } from './main.js';

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    program
      .command('status')
      .description(
        'Show how far the workflow in a job store has got: jobs declared, completed, ready to run; and check ' +
          'every object in it against its recorded length and SHA-256, listing the damaged ones. ' +
          'Exit codes: 0 intact, 1 damaged objects found, 2 bad input.',
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option('--json', 'print one JSON object instead of text')
      .action(async (jobStore: string, flags: { json?: boolean }) => {
        const s = await workflowStatus(openJobStore(jobStore));
        const damaged = s.damaged.map((d) => `  ${d.key}: ${d.reason}`);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(s)}\n`);
        } else if (!s.workflowId) {
          process.stdout.write(
            [
              s.damaged.some((d) => d.key === 'workflow.json')
                ? `job store ${s.locator}: its workflow record is damaged`
                : `job store ${s.locator}: no workflow (it was interrupted while starting)`,
              ...(damaged.length > 0 ? [`damaged:    ${damaged.length} object(s)`, ...damaged] : []),
            ].join('\n') + '\n',
          );
        } else {
          process.stdout.write(
            [
              `job store:  ${s.locator}`,
              `workflow:   ${s.workflowId} (${s.workflowFile}), started ${new Date(s.createdAt!).toISOString()}`,
              `jobs:       ${s.jobs.completed} completed of ${s.jobs.known} declared so far, ${s.jobs.ready} ready to run`,
              `failures:   ${s.failedAttempts} failed attempt(s) logged`,
              `state:      ${stateLine(s)}`,
              ...s.failedJobs.map((j) => `  failed:   ${j.name} (${j.jobId}): ${j.error}`),
              damaged.length === 0
                ? 'damaged:    none (every object matches its length and SHA-256)'
                : `damaged:    ${damaged.length} object(s) (restore them, or 'toil clean' and run the workflow again)`,
              ...damaged,
            ].join('\n') + '\n',
          );
        }
        setExitCode(s.damaged.length > 0 ? 1 : 0);
      });
  },
};

function stateLine(s: WorkflowStatus): string {
  if (s.finished) return 'finished';
  if (s.failed)
    return `failed: ${s.failedJobs.length} job(s) failed for good (fix the cause, then 'toil run WORKFLOW JOBSTORE --restart')`;
  return "not finished (running, or stopped: resume with 'toil run WORKFLOW JOBSTORE --restart')";
}
