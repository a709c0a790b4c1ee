import { Option, type Command } from 'commander';
import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { processGone } from '../common/processGone.js';
import { tryParseDurationMs } from '../common/units.js';
import { daemonLogger } from './daemonOutput.js';
import type { SubCommand } from './main.js';

function duration(flag: string, value: string, minMs: number): number {
  const ms = tryParseDurationMs(value);
  if (ms === undefined || ms < minMs)
    throw new UserInputError(
      'BAD_FLAG',
      `${flag} ${value}: expected a duration of at least ${minMs} ms (5s, 1m)`,
    );
  return ms;
}

export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    program
      .command('rebalance-watch')
      .description(
        "The appliance's worker-side watch for EC2 rebalance recommendations (docs/scaler.md): poll this " +
          "instance's metadata (IMDSv2, AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254) for " +
          'events/recommendations/rebalance and, once it appears, tag this instance ' +
          'toil-rebalance-recommended=NOTICE-TIME with its instance profile, so the leader places no new work ' +
          'there (its running jobs finish; it retires once idle). Errors are logged and retried with backoff. ' +
          'Exits 0 once tagged, or on SIGTERM.',
      )
      .option('--interval <duration>', 'how often the metadata is read', '5s')
      .option('--max-backoff <duration>', 'the longest wait between retries after a failure', '1m')
      .option('--region <region>', "the instance's region (default: from the instance metadata)")
      .option('--logLevel <level>', 'log level', 'info')
      // A local cloud's instance process: on EC2 the instance's end ends it; here the local cloud's.
      .addOption(new Option('--exit-with <pid>', 'stop when process PID is gone').hideHelp())
      .action(
        async (f: {
          interval: string;
          maxBackoff: string;
          region?: string;
          logLevel: string;
          exitWith?: string;
        }) => {
          const intervalMs = duration('--interval', f.interval, 100);
          const maxBackoffMs = duration('--max-backoff', f.maxBackoff, 100);
          const exitWith = f.exitWith === undefined ? undefined : Number(f.exitWith);
          if (exitWith !== undefined && !(Number.isInteger(exitWith) && exitWith > 0))
            throw new UserInputError('BAD_FLAG', `--exit-with ${f.exitWith}: expected a process id`);
          const log = daemonLogger(f.logLevel, 'stderr');
          // The AWS SDK loads once the input is accepted.
          const { watchRebalance } = await import('../main/rebalanceWatch.js');
          const stop = new AbortController();
          const onSignal = (): void => stop.abort();
          process.once('SIGTERM', onSignal);
          process.once('SIGINT', onSignal);
          if (exitWith !== undefined)
            void processGone(exitWith, stop.signal).then(() => {
              log.info(`process ${exitWith} is gone: stopping`);
              stop.abort();
            });
          try {
            await watchRebalance({
              env: process.env,
              clock: new RealClock(),
              log,
              intervalMs,
              retryMs: Math.min(intervalMs, 1000),
              maxBackoffMs: Math.max(maxBackoffMs, Math.min(intervalMs, 1000)),
              ...(f.region ? { region: f.region } : {}),
              signal: stop.signal,
            });
            setExitCode(0);
          } finally {
            // Ends the --exit-with watch, whose timer would keep this process alive once tagged.
            stop.abort();
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
          }
        },
      );
  },
};
