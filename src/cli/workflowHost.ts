import type { Command } from 'commander';
import { openJobStore } from '../main/jobStores.js';
import { serveWorkflowHost } from '../workflow/workflowHostChild.js';
import type { SubCommand } from './main.js';

export const command: SubCommand = {
  register(program: Command): void {
    program
      .command('workflow-host')
      .description(
        "Internal: run a workflow's own code (module load, start, finish) for the leader daemon that " +
          'started this process, apart from it, and exit.',
      )
      .action(async () => {
        serveWorkflowHost((locator) => openJobStore(locator));
        // The process exits once it has answered (or when its leader goes away).
        await new Promise<never>(() => {});
      });
  },
};
