import type { Command } from 'commander';
import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { currentLeader, KILL_POLL_MS, requestKill } from '../leader/killRequest.js';
import { openJobStore } from '../main/jobStores.js';
import type { SubCommand } from './main.js';

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    program
      .command('kill')
      .description(
        "Stop the workflow running in a job store (Toil's `toil kill`): its leader, wherever it runs, sees the " +
          `request within ${KILL_POLL_MS / 1000} s, kills its running jobs and stops, keeping the job store ` +
          '(resume with toil run … --restart).',
      )
      .argument('<jobStore>', 'the job store locator (file:PATH or aws:REGION:NAME)')
      .option(
        '--wait <seconds>',
        'wait until the leader has stopped, at most this long (0: do not wait)',
        '0',
      )
      .action(async (jobStore: string, flags: { wait: string }) => {
        const waitS = Number(flags.wait);
        if (!/^\d+(\.\d+)?$/.test(flags.wait) || !Number.isFinite(waitS))
          throw new UserInputError('BAD_FLAG', `--wait ${flags.wait}: expected a number of seconds`);
        const clock = new RealClock();
        const store = openJobStore(jobStore);
        const request = await requestKill(store, clock.now());
        process.stderr.write(
          `toil: asked the leader of ${store.locator} (generation ${request.generation}) to stop\n`,
        );
        if (waitS === 0) return setExitCode(0);
        const deadline = clock.now() + waitS * 1000;
        while (clock.now() < deadline) {
          const leader = (await store.exists()) ? await currentLeader(store) : undefined;
          if (!leader || leader.generation !== request.generation) {
            process.stderr.write('toil: the leader has stopped\n');
            return setExitCode(0);
          }
          await clock.sleep(500);
        }
        process.stderr.write(`toil: the leader has not stopped within ${waitS} s\n`);
        setExitCode(1);
      });
  },
};
