import type { Command } from 'commander';
import { workflowStatus, type WorkflowStatus } from '../leader/workflowStatus.js';
import { openJobStore } from '../main.js';
import type { SubCommand } from './main.js';

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    program
      .command('status')
      .description(
        'Show how far the workflow in a job store has got: jobs declared, completed, ready to run.',
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option('--json', 'print one JSON object instead of text')
      .action(async (jobStore: string, flags: { json?: boolean }) => {
        const s = await workflowStatus(openJobStore(jobStore));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(s)}\n`);
        } else if (!s.workflowId) {
          process.stdout.write(`job store ${s.locator}: no workflow (it was interrupted while starting)\n`);
        } else {
          process.stdout.write(
            [
              `job store:  ${s.locator}`,
              `workflow:   ${s.workflowId} (${s.workflowFile}), started ${new Date(s.createdAt!).toISOString()}`,
              `jobs:       ${s.jobs.completed} completed of ${s.jobs.known} declared so far, ${s.jobs.ready} ready to run`,
              `failures:   ${s.failedAttempts} failed attempt(s) logged`,
              `state:      ${stateLine(s)}`,
              ...s.failedJobs.map((j) => `  failed:   ${j.name} (${j.jobId}): ${j.error}`),
            ].join('\n') + '\n',
          );
        }
        setExitCode(0);
      });
  },
};

function stateLine(s: WorkflowStatus): string {
  if (s.finished) return 'finished';
  if (s.failed)
    return `failed: ${s.failedJobs.length} job(s) failed for good (fix the cause, then 'toil run WORKFLOW JOBSTORE --restart')`;
  return "not finished (running, or stopped: resume with 'toil run WORKFLOW JOBSTORE --restart')";
}
