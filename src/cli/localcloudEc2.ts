import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { RealClock } from '../common/clock.js';
import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { tryParseDurationMs } from '../common/units.js';
import type { FaultOptions, CapacityRule } from '../localcloud/ec2/faults.js';
import type { NodeProcessLauncher } from '../localcloud/ec2/agents.js';
import { startEc2Endpoint } from '../localcloud/ec2/server.js';
import type { ScriptedPrice, SpotMarketOptions } from '../localcloud/ec2/spotMarket.js';
import { collect } from '../provisioner/cluster/cliSupport.js';
import { daemonLogger, daemonOutput, daemonStopped } from './daemonOutput.js';
import { untilSignal } from './untilSignal.js';
import { NOT_AN_ADDRESS_HERE } from './listenErrors.js';

interface Ec2Flags {
  host: string;
  region: string;
  bootDelay: string;
  shutdownDelay: string;
  throttleRate: string;
  serverErrorRate: string;
  refuseCapacity: string[];
  spotInterruptionRate: string;
  spotInterruptionWindow: string;
  spotNotice: string;
  vcpuLimit?: string;
  spotLimit?: string;
  seed: string;
  spotPriceFraction: string;
  spotPriceStep: string;
  spotPriceFile?: string;
  logLevel: string;
  s3Endpoint?: string;
}

function addEndpointOptions(cmd: Command): Command {
  return cmd
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--region <region>', 'the region it pretends to be', 'us-west-2')
    .option('--boot-delay <duration>', 'pending → running', '2s')
    .option('--shutdown-delay <duration>', 'shutting-down → terminated', '1s')
    .option('--throttle-rate <fraction>', 'share of calls answered RequestLimitExceeded', '0')
    .option('--server-error-rate <fraction>', 'share of calls answered with a 5xx', '0')
    .option(
      '--refuse-capacity <TYPE:ZONE:MARKET>',
      "no capacity for matching launches ('*' for any; repeatable)",
      collect,
      [],
    )
    .option(
      '--spot-interruption-rate <fraction>',
      'share of spot instances interrupted (after a 2-minute notice)',
      '0',
    )
    .option('--spot-interruption-window <duration>', 'interruptions fall within this long after boot', '10m')
    .option(
      '--spot-notice <duration>',
      "how long a spot instance's interruption notice precedes its reclaim (AWS: 2m)",
      '2m',
    )
    .option('--vcpu-limit <n>', 'on-demand vCPU limit (VcpuLimitExceeded past it)')
    .option('--spot-limit <n>', 'spot instance limit (MaxSpotInstanceCountExceeded past it)')
    .option('--seed <n>', 'seed for every random fault and the spot market', '1')
    .option('--spot-price-fraction <fraction>', 'spot prices wander around this share of on-demand', '0.35')
    .option('--spot-price-step <duration>', 'how often spot prices move', '5m')
    .option(
      '--spot-price-file <path>',
      'scripted spot prices: JSON [{"instanceType","zone"?,"at":"+90s","price"}]',
    )
    .option(
      '--s3-endpoint <url>',
      "S3 endpoint offered to the nodes, like a VPC endpoint (their processes' AWS_ENDPOINT_URL_S3)",
    )
    .option('--logLevel <level>', 'log level', 'info');
}

function fraction(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new UserInputError('BAD_FLAG', `${flag}: '${v}' is not a fraction between 0 and 1`);
  return n;
}

function count(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n))
    throw new UserInputError('BAD_FLAG', `${flag}: '${v}' is not a whole number`);
  return n;
}

/**
 * Runs `start`, which listens on `host:port`; a port something else holds (or that may not be
 * bound) is the user's to change, named with its flag, not an internal error.
 */
export async function listening<T>(
  flag: string,
  host: string,
  port: number,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && NOT_AN_ADDRESS_HERE.includes(code))
      throw new UserInputError(
        'BAD_FLAG',
        `--host ${host}: not an address of this machine (${code}); expected e.g. 127.0.0.1, or 0.0.0.0 for every interface`,
        { flag: '--host', host },
      );
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
    throw new UserInputError(
      'PORT_IN_USE',
      `${flag} ${port}: ${host}:${port} is ${code === 'EACCES' ? 'not allowed' : 'in use (another toil localcloud?)'}; choose another port, or 0 for any free one`,
      { flag, port },
    );
  }
}

function duration(flag: string, v: string): number {
  const ms = tryParseDurationMs(v);
  if (ms === undefined)
    throw new UserInputError('BAD_FLAG', `${flag}: '${v}' is not a duration like 2s or 500ms`);
  return ms;
}

function positiveDuration(flag: string, v: string): number {
  const ms = duration(flag, v);
  if (ms <= 0) throw new UserInputError('BAD_FLAG', `${flag}: '${v}' is not a duration more than 0, like 5m`);
  return ms;
}

function httpUrl(flag: string, v: string): string {
  let u: URL | undefined;
  try {
    u = new URL(v);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
    throw new UserInputError('BAD_FLAG', `${flag}: '${v}' is not a URL like http://127.0.0.1:5000`);
  return v.replace(/\/$/, '');
}

/** `c5.large:us-west-2a:spot`, with `*` (or nothing) for any. */
export function parseCapacityRule(text: string): CapacityRule {
  const [type, zone, market, extra] = text.split(':');
  const any = (x: string | undefined): string | undefined =>
    x === undefined || x === '' || x === '*' ? undefined : x;
  const m = any(market);
  if (extra !== undefined || (m !== undefined && m !== 'spot' && m !== 'on-demand'))
    throw new UserInputError(
      'BAD_FLAG',
      `--refuse-capacity: '${text}' should be TYPE:ZONE:MARKET (market spot or on-demand, '*' for any)`,
    );
  const t = any(type);
  const z = any(zone);
  return {
    ...(t ? { instanceType: t } : {}),
    ...(z ? { zone: z } : {}),
    ...(m ? { market: m } : {}),
    remaining: 0,
  };
}

function faultOptions(f: Ec2Flags): FaultOptions {
  return {
    throttleRate: fraction('--throttle-rate', f.throttleRate),
    serverErrorRate: fraction('--server-error-rate', f.serverErrorRate),
    spotInterruptionRate: fraction('--spot-interruption-rate', f.spotInterruptionRate),
    spotInterruptionWindowMs: duration('--spot-interruption-window', f.spotInterruptionWindow),
    capacity: f.refuseCapacity.map(parseCapacityRule),
    ...(f.vcpuLimit !== undefined ? { onDemandVcpuLimit: count('--vcpu-limit', f.vcpuLimit) } : {}),
    ...(f.spotLimit !== undefined ? { spotInstanceLimit: count('--spot-limit', f.spotLimit) } : {}),
    seed: count('--seed', f.seed),
  };
}

async function spotMarketOptions(f: Ec2Flags, openedAt: number): Promise<SpotMarketOptions> {
  const baseFraction = fraction('--spot-price-fraction', f.spotPriceFraction);
  if (baseFraction === 0)
    throw new UserInputError('BAD_FLAG', `--spot-price-fraction: '${f.spotPriceFraction}' must be above 0`);
  let script: ScriptedPrice[] | undefined;
  if (f.spotPriceFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(f.spotPriceFile, 'utf8');
    } catch (e) {
      throw new UserInputError(
        'BAD_FLAG',
        `--spot-price-file: cannot read ${f.spotPriceFile}: ${(e as Error).message}`,
      );
    }
    const { parseSpotPriceScript } = await import('../localcloud/ec2/spotPriceScript.js');
    try {
      script = parseSpotPriceScript(text, openedAt);
    } catch (e) {
      throw new UserInputError('BAD_FLAG', `--spot-price-file: ${f.spotPriceFile}: ${(e as Error).message}`);
    }
  }
  return {
    baseFraction,
    stepMs: positiveDuration('--spot-price-step', f.spotPriceStep),
    seed: count('--seed', f.seed),
    ...(script ? { script } : {}),
  };
}

async function startFromFlags(
  f: Ec2Flags,
  port: number,
  mesosMaster: string | undefined,
  log: Logger,
  launcher?: NodeProcessLauncher,
) {
  const clock = new RealClock();
  return startEc2Endpoint({
    clock,
    spotMarket: await spotMarketOptions(f, clock.now()),
    log,
    port,
    host: f.host,
    region: f.region,
    bootDelayMs: duration('--boot-delay', f.bootDelay),
    shutdownDelayMs: duration('--shutdown-delay', f.shutdownDelay),
    interruptionNoticeMs: duration('--spot-notice', f.spotNotice),
    faults: faultOptions(f),
    ...(mesosMaster ? { mesosMaster } : {}),
    ...(launcher ? { launcher } : {}),
    ...(f.s3Endpoint !== undefined ? { s3Endpoint: httpUrl('--s3-endpoint', f.s3Endpoint) } : {}),
  });
}

/**
 * `toil localcloud ec2 --port N` (the EC2 endpoint alone) and `toil localcloud --ec2-port N
 * --mesos-port M` (the endpoint and the local Mesos master together, running workers registering
 * as agents).
 */
export function registerEc2Commands(localcloud: Command, setExitCode: (code: number) => void): void {
  addEndpointOptions(
    localcloud
      .command('ec2')
      .description('Run the local EC2 endpoint (EC2 Query API, instance metadata, fault injection).')
      .option('--port <port>', 'port to listen on (0: any free port)', '0')
      .option('--mesos-master <host:port>', 'Mesos master that running workers register with as agents'),
  ).action(async (f: Ec2Flags & { port: string; mesosMaster?: string }) => {
    const log = daemonLogger(f.logLevel, 'stderr');
    const out = daemonOutput().stdout;
    const port = count('--port', f.port);
    const endpoint = await listening('--port', f.host, port, () =>
      startFromFlags(f, port, f.mesosMaster, log),
    );
    out.write(`EC2 endpoint: ${endpoint.url} (region ${endpoint.region})\n`);
    out.write(`  export AWS_ENDPOINT_URL_EC2=${endpoint.url}\n`);
    await untilSignal();
    await endpoint.stop();
    setExitCode(0);
    await daemonStopped(0);
  });

  addEndpointOptions(
    localcloud
      .option(
        '--ec2-port <port>',
        'with --mesos-port: run the EC2 endpoint and the Mesos master together',
        '0',
      )
      .option('--mesos-port <port>', 'port of the local Mesos master', '0')
      .option(
        '--batchSystem <name>',
        'mesos (a local Mesos master, workers are agents) or slurm (a real slurmctld, workers are slurmd; needs root and slurm-wlm)',
        'mesos',
      ),
  ).action(async (f: Ec2Flags & { ec2Port: string; mesosPort: string; batchSystem: string }) => {
    const log = daemonLogger(f.logLevel, 'stderr');
    const out = daemonOutput().stdout;
    if (f.batchSystem === 'slurm') return runWithSlurm(f, log, setExitCode);
    if (f.batchSystem !== 'mesos')
      throw new UserInputError('BAD_FLAG', `--batchSystem ${f.batchSystem}: expected mesos or slurm`);
    // Every flag is read before anything listens, and what started is stopped when the rest fails:
    // a mistake must not leave a master running with nothing to stop it but a signal.
    const mesosPort = count('--mesos-port', f.mesosPort);
    const ec2Port = count('--ec2-port', f.ec2Port);
    const { startMesosMaster } = await import('../localcloud/mesos/masterServer.js');
    const master = await listening('--mesos-port', f.host, mesosPort, () =>
      startMesosMaster({ host: f.host, port: mesosPort, clock: new RealClock(), log }),
    );
    const endpoint = await listening('--ec2-port', f.host, ec2Port, () =>
      startFromFlags(f, ec2Port, master.address, log),
    ).catch(async (e: unknown) => {
      await master.stop();
      throw e;
    });
    out.write(`EC2 endpoint: ${endpoint.url} (region ${endpoint.region})\n`);
    out.write(`Mesos master: ${master.url}\n`);
    out.write(`  export AWS_ENDPOINT_URL_EC2=${endpoint.url}\n`);
    await untilSignal();
    await endpoint.stop();
    await master.stop();
    setExitCode(0);
    await daemonStopped(0);
  });
}

/**
 * `toil localcloud --batchSystem slurm`: the EC2 endpoint and a real slurmctld; every running
 * worker instance becomes a slurmd joined to it (docs/slurm.md).
 */
async function runWithSlurm(
  f: Ec2Flags & { ec2Port: string },
  log: Logger,
  setExitCode: (code: number) => void,
): Promise<void> {
  const { slurmAvailability, startSlurmController, sweepAbandonedControllerDirs } =
    await import('../localcloud/slurm/cluster.js');
  const { SlurmdLauncher } = await import('../localcloud/slurm/launcher.js');
  const out = daemonOutput().stdout;
  const why = slurmAvailability();
  if (why) throw new UserInputError('SLURM_UNAVAILABLE', `--batchSystem slurm: ${why}`);
  // A local cloud killed with kill -9 left its controller's directory behind.
  await sweepAbandonedControllerDirs(log);
  const controller = await startSlurmController({});
  const launcher = new SlurmdLauncher({ controller, log });
  // The endpoint starts a node process for workers whose user data names a master: here the controller.
  const endpoint = await startFromFlags(
    f,
    count('--ec2-port', f.ec2Port),
    `${controller.address}:${controller.port}`,
    log,
    launcher,
  );
  out.write(`EC2 endpoint: ${endpoint.url} (region ${endpoint.region})\n`);
  out.write(`Slurm controller: ${controller.address}:${controller.port}\n`);
  out.write(`  export AWS_ENDPOINT_URL_EC2=${endpoint.url}\n`);
  out.write(`  export SLURM_CONF=${controller.conf}\n`);
  await untilSignal();
  await endpoint.stop();
  await controller.stop();
  setExitCode(0);
  await daemonStopped(0);
}
