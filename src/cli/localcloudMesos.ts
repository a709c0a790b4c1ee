import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import { LOG_LEVEL_NAMES } from '../common/log.js';
import { processGone } from '../common/processGone.js';
import { tryParseDurationMs } from '../common/units.js';
import { LocalMesosAgent } from '../localcloud/mesos/agent.js';
import { parseAttributesFlag, parseResourcesFlag } from '../localcloud/mesos/agentFlags.js';
import { startMesosMaster } from '../localcloud/mesos/masterServer.js';
import { daemonLogger, daemonOutput, daemonStopped } from './daemonOutput.js';
import { listening } from './localcloudEc2.js';
import { untilSignal } from './untilSignal.js';

/**
 * `toil localcloud mesos` (a Mesos master speaking the real HTTP APIs) and `toil localcloud agent`
 * (an agent process that registers with it and runs tasks as child processes).
 */
export function registerMesosCommands(localcloud: Command, setExitCode: (code: number) => void): void {
  localcloud
    .command('mesos')
    .description('Run a local Mesos master: /master/state, the operator API and the scheduler API.')
    .option('--port <port>', 'port to listen on', '5050')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--hostname <name>', 'hostname the master advertises (default: --host)')
    .option('--registry <file>', 'file recording agents, so a restarted master knows them')
    .option('--allocation-interval <duration>', 'how often offers are made', '1s')
    .option('--agent-ping-timeout <duration>', 'agent health-check period (Mesos: 15secs)', '15s')
    .option('--max-agent-ping-timeouts <n>', 'missed periods before an agent is unreachable', '5')
    .option('--heartbeat-interval <duration>', 'scheduler heartbeat interval (Mesos: fixed 15s)', '15s')
    .option('--logLevel <level>', `log level (${LOG_LEVEL_NAMES.join(', ')})`, 'info')
    .action(async (opts: Record<string, string>) => {
      const log = daemonLogger(opts['logLevel']!, 'stdout');
      const port = integer('--port', opts['port']!);
      const master = await listening('--port', opts['host']!, port, () =>
        startMesosMaster({
          port,
          host: opts['host']!,
          ...(opts['hostname'] ? { hostname: opts['hostname'] } : {}),
          ...(opts['registry'] ? { registryPath: opts['registry'] } : {}),
          allocationIntervalMs: duration('--allocation-interval', opts['allocationInterval']!),
          agentPingTimeoutMs: duration('--agent-ping-timeout', opts['agentPingTimeout']!),
          maxAgentPingTimeouts: integer('--max-agent-ping-timeouts', opts['maxAgentPingTimeouts']!),
          heartbeatIntervalSeconds: duration('--heartbeat-interval', opts['heartbeatInterval']!) / 1000,
          clock: new RealClock(),
          log,
        }),
      );
      daemonOutput().stdout.write(`Mesos master listening on ${master.url}\n`);
      await untilSignal();
      await master.stop();
      setExitCode(0);
      await daemonStopped(0);
    });

  localcloud
    .command('agent')
    .description('Run a local Mesos agent process that registers with a master and runs its tasks.')
    .requiredOption('--master <host:port>', 'the Mesos master')
    .option('--resources <spec>', "resources, e.g. 'cpus:2;mem:4096;disk:10000'")
    .option('--attributes <spec>', "attributes, e.g. 'preemptable:true' (preemptible is read too)", '')
    .option(
      '--hostname <name>',
      'hostname the agent reports (the instance private IP on a cluster)',
      '127.0.0.1',
    )
    .option('--port <port>', 'port the agent reports', '5051')
    .option(
      '--work-dir <dir>',
      'sandboxes and the agent id (kept across restarts; default: a temp dir removed on exit)',
    )
    .option('--remove-work-dir', 'remove --work-dir when the agent exits (the dir is its own disk)')
    .option('--status-retry <duration>', 'first re-send of an unacknowledged status update', '10s')
    .option('--reconnect <duration>', 'delay between attempts to reach the master', '1s')
    .option('--exit-with <pid>', 'stop when process PID is gone (for agents a test or a local cloud started)')
    .option('--logLevel <level>', `log level (${LOG_LEVEL_NAMES.join(', ')})`, 'info')
    .action(async (opts: Record<string, string>) => {
      const log = daemonLogger(opts['logLevel']!, 'stdout');
      const resources = parseResourcesFlag(opts['resources'] ?? defaultResources());
      const attributes = parseAttributesFlag(opts['attributes'] ?? '');
      const workDir = opts['workDir'] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'toil-mesos-agent-'));
      const agent = new LocalMesosAgent({
        master: opts['master']!,
        resources,
        attributes,
        hostname: opts['hostname']!,
        port: integer('--port', opts['port']!),
        workDir,
        statusRetryMs: duration('--status-retry', opts['statusRetry']!),
        reconnectMs: duration('--reconnect', opts['reconnect']!),
        clock: new RealClock(),
        log,
      });
      agent.start();
      const watched = opts['exitWith'] !== undefined ? integer('--exit-with', opts['exitWith']) : undefined;
      const stopWatching = new AbortController();
      const reason = await Promise.race([
        agent.done,
        untilSignal().then(() => 'signal'),
        ...(watched !== undefined
          ? [processGone(watched, stopWatching.signal).then(() => `process ${watched} is gone`)]
          : []),
      ]);
      // The watcher's timer would keep this process alive after the agent stopped.
      stopWatching.abort();
      await agent.stop(reason);
      // A temp dir of its own holds nothing a later agent could use (a new one gets a new id).
      if (opts['workDir'] === undefined || opts['removeWorkDir'] !== undefined)
        fs.rmSync(workDir, { recursive: true, force: true, maxRetries: 3 });
      setExitCode(0);
      await daemonStopped(0);
    });
}

function defaultResources(): string {
  const memMb = Math.max(256, Math.floor(os.totalmem() / 2 ** 20) - 1024);
  return `cpus:${os.cpus().length};mem:${memMb};disk:10000;ports:[31000-32000]`;
}

function integer(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UserInputError('BAD_FLAG', `${flag}: '${value}' is not a non-negative integer`);
  return n;
}

function duration(flag: string, value: string): number {
  const ms = tryParseDurationMs(value);
  if (ms === undefined)
    throw new UserInputError('BAD_FLAG', `${flag}: '${value}' is not a duration like 15s or 500ms`);
  return ms;
}
