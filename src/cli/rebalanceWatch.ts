import type { Command } from 'commander';
import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
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
      .action(async (f: { interval: string; maxBackoff: string; region?: string; logLevel: string }) => {
        const intervalMs = duration('--interval', f.interval, 100);
        const maxBackoffMs = duration('--max-backoff', f.maxBackoff, 100);
        const log = daemonLogger(f.logLevel, 'stderr');
        // The AWS SDK loads once the input is accepted.
        const { watchRebalance } = await import('../main/rebalanceWatch.js');
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
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
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
        }
      });
  },
};
