import { UserInputError } from '../common/errors.js';
import { firstLine } from '../workflow/jobError.js';
import { masterBaseUrl } from '../mesos/http.js';

/** `--mesosMaster`, or Toil's own spelling `--mesosEndpoint`, with the flag the user typed. */
export interface MesosMasterFlag {
  readonly flag: '--mesosMaster' | '--mesosEndpoint';
  readonly address: string;
  /**
   * Set when no flag was given and the address is Toil's default: what that default is, said
   * wherever a typed flag would be named (a user who typed none is not told of one).
   */
  readonly defaulted?: string;
}

/** The master as the user knows it: the flag as typed, or the default and why it was chosen. */
export function mesosMasterNamed(m: MesosMasterFlag): string {
  return m.defaulted === undefined
    ? `${m.flag} ${m.address}`
    : `the default Mesos master ${m.address} (${m.defaulted})`;
}

export function mesosMasterFlag(f: {
  readonly mesosMaster?: string;
  readonly mesosEndpoint?: string;
}): MesosMasterFlag | undefined {
  if (f.mesosMaster !== undefined) return { flag: '--mesosMaster', address: f.mesosMaster };
  if (f.mesosEndpoint !== undefined) return { flag: '--mesosEndpoint', address: f.mesosEndpoint };
  return undefined;
}

/**
 * A master given to a run whose batch system is not mesos is said to have no effect: a command
 * line from Toil's docs that gives --mesosEndpoint but no --batchSystem mesos otherwise ran every
 * job on this machine (Toil's default, single_machine) without a word.
 */
export function mesosMasterUnused(
  batchSystem: string,
  f: Parameters<typeof mesosMasterFlag>[0],
): string | undefined {
  const master = mesosMasterFlag(f);
  if (master === undefined || batchSystem === 'mesos') return undefined;
  return `toil: ${master.flag} has no effect with --batchSystem ${batchSystem} (only mesos takes it; add --batchSystem mesos to run the jobs there)`;
}

/**
 * The master's address read as the Mesos client reads it (a bare host is port 5050, `http://`
 * may lead); a typo is refused naming the flag as typed, before anything is made.
 */
export function mesosMasterUrl(m: MesosMasterFlag): URL {
  try {
    return masterBaseUrl(m.address);
  } catch (e) {
    if (e instanceof UserInputError) throw refused(m);
    throw e;
  }
}

/**
 * The master's HOST:PORT for an autoscaled run's leader config, from the same spellings a local
 * run takes: the config would otherwise refuse them naming `batchSystem.mesosMaster`, a path
 * nobody wrote.
 */
export function mesosMasterHostPort(m: MesosMasterFlag): string {
  const url = mesosMasterUrl(m);
  // The leader reaches its master over plain HTTP at HOST:PORT; nothing else can be passed on.
  if (url.protocol !== 'http:' || url.hostname.startsWith('[')) throw refused(m);
  return `${url.hostname}:${url.port || '80'}`;
}

function refused(m: MesosMasterFlag): UserInputError {
  return new UserInputError(
    'MESOS_ADDRESS',
    `${mesosMasterNamed(m)}: expected the HOST:PORT of the Mesos master, e.g. 10.0.0.5:5050`,
  );
}

/**
 * A mistyped --mesosMaster (or no master running) fails here in one line, before any job store is
 * made or node launched; once the run has begun, a master that goes away is waited for (it may be
 * restarting).
 */
export async function assertMesosAnswers(
  ping: () => Promise<unknown>,
  master: MesosMasterFlag,
): Promise<void> {
  try {
    await ping();
  } catch (e) {
    const why = firstLine(e instanceof Error ? e.message : String(e));
    const expected =
      master.defaulted === undefined
        ? 'expected the host:port of a running Mesos master'
        : `expected a running Mesos master there; give ${master.flag} HOST:PORT for another`;
    throw new UserInputError(
      'BAD_FLAG',
      `${mesosMasterNamed(master)}: the Mesos master does not answer (${why}) (${expected})`,
    );
  }
}
