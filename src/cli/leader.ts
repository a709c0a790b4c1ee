import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Command } from 'commander';
import { RealClock } from '../common/clock.js';
import { UserInputError, coerceError } from '../common/errors.js';
import { badPortReason, isFetchBadPort } from '../common/fetchBadPorts.js';
import { createLogger, type Logger } from '../common/log.js';
import { ConfigReloader } from '../leader/configReloader.js';
import { ConsoleOutput } from '../leader/consoleOutput.js';
import { parseLeaderConfig, restartOnlyChanges, type LeaderConfig } from '../leader/leaderConfig.js';
import { prepareWorkDir, refuseNodeDebug } from '../main/env.js';
import { readCatalogue } from '../scaler/catalogueFile.js';
import type { SubCommand } from './main.js';
import { daemonOutput, daemonStopped } from './daemonOutput.js';
import { NOT_AN_ADDRESS_HERE } from './listenErrors.js';
import { toilVariableNotices } from './toilRunOptions.js';

/**
 * `toil leader --config FILE`: the long-running leader daemon. SIGTERM/SIGINT stop it gracefully
 * (no launches, in-flight calls finish, state persisted, HTTP closed); a second signal aborts
 * in-flight calls, and the stop goes on with one try per call (its nodes are still released); a
 * third exits at once. SIGHUP (and any change to the file) reloads the config.
 */
export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    program
      .command('leader')
      .description(
        'Run the leader daemon: takes submitted workflows, scales the cluster, serves /healthz, /readyz, /metrics and /status.',
      )
      .requiredOption('--config <file>', 'the leader config (YAML), e.g. config/leader.yaml')
      .option('--port <n>', "the HTTP port (overrides the config's http.port; 0 picks a free one)")
      .action(async (flags: { config: string; port?: string }) => {
        setExitCode(
          await runLeader(flags.config, flags.port === undefined ? undefined : parsePort(flags.port)),
        );
      });
  },
};

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535)
    throw new UserInputError('BAD_FLAG', `--port ${text}: expected a port number from 0 to 65535`);
  return n;
}

function portTaken(host: string, port: number, why: string, configPath: string): UserInputError {
  return new UserInputError(
    'PORT_IN_USE',
    `port ${port} on ${host} is ${why}; choose another with --port N or http.port in ${configPath}`,
  );
}

/** Why the leader cannot listen, as the user's to fix (its host or port), else the error itself. */
function listenRefusal(e: NodeJS.ErrnoException, host: string, port: number, configPath: string): Error {
  if (e.code !== undefined && NOT_AN_ADDRESS_HERE.includes(e.code))
    return new UserInputError(
      'BAD_FLAG',
      `http.host ${host} in ${configPath}: not an address of this machine (${e.code}); expected e.g. 127.0.0.1, or 0.0.0.0 for every interface`,
    );
  if (e.code === 'EACCES') return portTaken(host, port, 'not allowed', configPath);
  if (e.code === 'EADDRINUSE') return portTaken(host, port, 'in use (another toil leader?)', configPath);
  return e;
}

/**
 * Refuses a port web clients will not connect to: the leader would start and serve, and every
 * `toil run --leader` and the status page in a browser would fail against it.
 */
function refuseBadPort(port: number, fromFlag: boolean, configPath: string): void {
  if (!isFetchBadPort(port)) return;
  const where = fromFlag ? `--port ${port}` : `http.port ${port} in ${configPath}`;
  throw new UserInputError(
    fromFlag ? 'BAD_FLAG' : 'CONFIG_INVALID',
    `${where}: ${badPortReason(port)}, so nothing could reach this leader; choose another with --port N${fromFlag ? '' : ` or http.port in ${configPath}`} (e.g. 8080)`,
  );
}

/**
 * Refuses a port something else holds, before anything is started (no local cloud, no instance):
 * binding it later would fail only after the cloud and a leader instance were up.
 */
async function assertPortFree(host: string, port: number, configPath: string): Promise<void> {
  // Port 0 too: binding it checks the host.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenRefusal(e, host, port, configPath)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/**
 * The daemon holds the cluster: a stray error (a library's unhandled rejection, a throw in a
 * callback) is logged and survived, never the end of the process while nodes keep billing. A
 * workflow's own code cannot reach here: it runs in a process of its own.
 */
function keepRunningOnStrayErrors(log: Logger): void {
  process.on('uncaughtException', (e) =>
    log.error({ err: coerceError(e) }, 'uncaught exception (the leader keeps running)'),
  );
  process.on('unhandledRejection', (e) =>
    log.error({ err: coerceError(e) }, 'unhandled promise rejection (the leader keeps running)'),
  );
}

async function runLeader(path: string, port: number | undefined): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UserInputError(
      'CONFIG_UNREADABLE',
      `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const catalogue = await readCatalogue();
  // --port wins over the file, also after a reload.
  const withFlags = (c: LeaderConfig): LeaderConfig =>
    port === undefined ? c : Object.freeze({ ...c, http: Object.freeze({ ...c.http, port }) });
  let config: LeaderConfig = withFlags(parseLeaderConfig(text, catalogue, path));
  // What the restart-only sections were built from: a reload is told apart from it, not from the
  // last reload, so a file put back as it was says nothing more about a restart.
  const startedWith = config;
  // An aws provisioner scales EC2 instances as launch-cluster and an autoscaled toil run do, and
  // cannot keep the ones that fail to boot: refused as they refuse it. The embedded local cloud
  // reads none of the TOIL_AWS_* variables (its instances are processes here, its tags and image
  // its own): the setting asks nothing of it, and `npm start` in a shell that exports it runs.
  if (config.provisioner.kind === 'aws') refuseNodeDebug();
  // Toil's variables as `toil run` takes them, before anything is started: a refused one ends
  // the start in one line, one that has no effect is said once.
  for (const notice of toilVariableNotices()) daemonOutput().stderr.write(`${notice}\n`);
  refuseBadPort(config.http.port, port !== undefined, path);
  // Every run's scratch goes there (see startLeader): one that does not exist is refused now, in
  // one line, rather than failing each workflow submitted.
  await prepareWorkDir(undefined);
  await assertPortFree(config.http.host, config.http.port, path);
  const clock = new RealClock();
  // A person at a terminal reads lines; a log collector (no terminal) gets pino's JSON, through a
  // destination that neither blocks nor fails the daemon when nobody reads it.
  const log = createLogger({
    level: config.logLevel,
    destination: process.stdout.isTTY
      ? new ConsoleOutput(process.stdout, clock).logDestination()
      : daemonOutput().stdout,
  });
  const { stderr } = daemonOutput();
  // prom-client (and the OpenTelemetry API it loads) only for a leader that runs, not for help.
  const { createLeaderMetrics } = await import('../leader/metrics.js');
  const metrics = createLeaderMetrics();
  keepRunningOnStrayErrors(log);
  const { startLeader } = await import('../main/leader.js');
  const started = await startLeader({ config: () => config, clock, log, metrics, configPath: path }).catch(
    (e: unknown) => {
      // Taken between the check and the bind: the same one line (what was started is stopped).
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw portTaken(config.http.host, config.http.port, 'in use (another toil leader?)', path);
      throw e;
    },
  );
  const reloader = new ConfigReloader<LeaderConfig>(
    {
      path,
      parse: (t) => {
        const next = withFlags(parseLeaderConfig(t, catalogue, path));
        started.checkReload(next);
        return next;
      },
      apply: (next) => {
        const ignored = restartOnlyChanges(startedWith, next);
        if (ignored.length > 0)
          log.warn({ sections: ignored }, 'these config sections take effect only after a restart');
        config = next;
        log.level = next.logLevel;
        metrics.configReloads.inc({ result: 'applied' });
      },
      reject: () => metrics.configReloads.inc({ result: 'rejected' }),
      clock,
      log: log.child({ component: 'config' }),
    },
    text,
  );
  reloader.start();
  stderr.write(
    `toil leader: status page at ${started.url}/, status at ${started.url}/status (health ${started.url}/healthz, metrics ${started.url}/metrics)` +
      (started.embedded ? `; local cloud: EC2 ${started.embedded.ec2Url}, ${started.embedded.engine}` : '') +
      '\n',
  );
  let signals = 0;
  let stateTaken = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) {
        log.info({ signal: sig }, 'stopping: no more launches; waiting for in-flight calls');
        reloader.stop();
        started.stop().then(resolve, (e: unknown) => {
          log.error({ err: coerceError(e) }, 'stop failed');
          resolve();
        });
      } else if (signals === 2) {
        // The stop under way goes on (each of its calls gets one try): exiting now would leave
        // the nodes it is about to release running, billing.
        log.warn(
          { signal: sig },
          `second signal: aborting in-flight calls; ${config.shutdown.releaseNodes ? 'releasing the nodes this leader launched' : 'marking the nodes this leader keeps'} (one try per call), then exiting (a third signal exits at once)`,
        );
        started.daemon.abort();
      } else {
        log.warn(
          { signal: sig },
          'third signal: exiting now; nodes this leader launched may be left running',
        );
        resolve();
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => void reloader.reload());
    // Another leader took this one's state over (its lease lapsed, e.g. the process was paused):
    // two daemons must not scale one cluster, so this one stops as on SIGTERM, and says why.
    void started.stateLost.then((e) => {
      if (signals > 0) return;
      stateTaken = true;
      log.error({ err: coerceError(e) }, 'this leader lost its state to another leader: stopping');
      onSignal('SIGTERM');
    });
  });
  await stopped;
  const code = signals > 1 ? 130 : stateTaken ? 1 : 0;
  await daemonStopped(code, signals > 1);
  return code;
}
