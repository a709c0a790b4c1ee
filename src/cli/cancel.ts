import type { Command } from 'commander';
import { cancelWorkflow } from '../leader/submitClient.js';
import { leaderToken } from './runAutoscaledOnLeader.js';
import type { SubCommand } from './main.js';

/** `toil cancel ID --leader URL`: cancels a workflow running on a leader daemon. */
export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    program
      .command('cancel')
      .description(
        'Cancel a workflow running on a leader daemon: its jobs are killed and its nodes released by scale-in. ' +
          'The job store is kept (toil run --restart resumes it). The run ends cancelled, not failed, and the ' +
          'toil run --leader following it exits 130, as a run interrupted by Ctrl-C does.',
      )
      .argument('<workflowId>', 'the id `toil run --leader` printed (also in /status)')
      .requiredOption('--leader <url>', 'the leader, e.g. http://127.0.0.1:8080')
      .option(
        '--leaderToken <token>',
        "the leader's bearer token (default: $TOIL_LEADER_TOKEN or $TOIL_LEADER_TOKEN_FILE)",
      )
      .action(async (id: string, flags: { leader: string; leaderToken?: string }) => {
        await cancelWorkflow(flags.leader, await leaderToken(flags.leaderToken), id);
        process.stderr.write(`toil: workflow ${id} cancelled on the leader at ${flags.leader}\n`);
        setExitCode(0);
      });
  },
};
