/**
 * The Slurm client: Slurm's own command-line tools (`sbatch`, `squeue --json`, `sinfo --json`,
 * `scontrol`, `scancel`), run as child processes.
 *
 * Why the CLI and not slurmrestd: every Slurm cluster that runs jobs has these tools and their
 * authentication (munge) already set up for the user, while slurmrestd is a separate daemon that
 * many sites do not run, refuses to run as root, needs JWT keys in slurm.conf and pins an OpenAPI
 * plugin version per Slurm release. The JSON the tools print is the same OpenAPI data slurmrestd
 * serves (`openapi/v0.0.38` on 22.05), so nothing is parsed from text meant for people. The price
 * is a process per call (~10–30 ms); the batch system keeps it low by asking `squeue` once per
 * poll for every job it watches, never once per job.
 */
import { spawn } from 'node:child_process';
import { ToilError } from '../common/errors.js';
import type { SlurmJob, SlurmNode } from './json.js';

/**
 * A Slurm command failed. `retry` when the controller could not be reached or refused for now (it
 * may come back: sbatch's own words for EAGAIN, a full job queue, nodes powering up, which it
 * prints as it retries and, once it gives up, as `Batch job submission failed: Resource
 * temporarily unavailable`).
 */
export class SlurmCommandError extends ToilError {
  readonly command: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;

  constructor(command: string, stderr: string, exitCode: number | undefined) {
    const firstLine = stderr.trim().split('\n').pop() ?? '';
    super(
      'SLURM_COMMAND_FAILED',
      `${command} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${firstLine}`,
      {
        disposition:
          /Unable to contact slurm controller|Socket timed out|Connection refused|Zero Bytes were transmitted|temporarily unable to accept job|Resource temporarily unavailable|job queue full|Unable to create job record, try again|Job creation temporarily disabled|no answer within \d+ s$/im.test(
            stderr,
          )
            ? 'retry'
            : // sbatch refusing what it was asked for (a partition, account or QOS it does not
              // have, a constraint no node meets): the settings are to fix, not a fault of ours.
              /Batch job submission failed: (Invalid (partition|account|qos)|Invalid feature|Requested node configuration is not available|Job violates accounting\/QOS policy)/i.test(
                  stderr,
                )
              ? 'user'
              : 'fatal',
        details: { command, exitCode },
      },
    );
    this.command = command;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** What `scontrol create` needs for one node; memory and tmp disk in MiB (Slurm's M). */
export interface SlurmNodeSpec {
  readonly name: string;
  /** Where the controller reaches its slurmd (the instance's private IP). */
  readonly address: string;
  /** The name its slurmd believes is its host name (default: `name`). */
  readonly hostname?: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly tmpDiskMb: number;
  readonly features: readonly string[];
  /** Lower is filled first (spot nodes before on-demand ones). */
  readonly weight?: number;
}

export interface SlurmCliOptions {
  /** The slurm.conf every command reads (SLURM_CONF); the system's default when omitted. */
  readonly conf?: string;
  /** Where the Slurm tools are (default: found on PATH). */
  readonly binDir?: string;
  /** Extra environment for every command. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Per command; a hung controller fails a call instead of stalling the poll loop. Default 30 s. */
  readonly timeoutMs?: number;
}

/** More than any squeue or sinfo prints of a cluster: a tool past it is stopped. */
const MAX_OUTPUT_BYTES = 256 << 20;

export class SlurmCli {
  private readonly o: SlurmCliOptions;

  constructor(options: SlurmCliOptions = {}) {
    this.o = options;
  }

  /** The environment a process needs to reach this cluster (for jobs' own srun, for tests). */
  env(): Record<string, string | undefined> {
    return { ...process.env, ...this.o.env, ...(this.o.conf ? { SLURM_CONF: this.o.conf } : {}) };
  }

  /** Runs one tool; resolves with its stdout. */
  run(tool: string, args: readonly string[], stdin?: string): Promise<string> {
    const file = this.o.binDir ? `${this.o.binDir}/${tool}` : tool;
    const timeoutMs = this.o.timeoutMs ?? 30_000;
    const command = `${tool} ${args.slice(0, 3).join(' ')}`;
    return new Promise((resolve, reject) => {
      // In a process group of its own: a terminal's Ctrl-C signals the leader's group, and a tool
      // in it died mid-call (the stop then logged its failure with a stack, and an sbatch cut
      // short may have queued a job whose id never came back). The leader's stop cancels what it
      // must itself; the tool ends on its own, or at the timeout.
      const child = spawn(file, args, { env: this.env(), detached: true, stdio: 'pipe' });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let timedOut = false;
      let overflowed = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
      }, timeoutMs);
      child.stdout.on('data', (b: Buffer) => {
        outBytes += b.length;
        if (outBytes <= MAX_OUTPUT_BYTES) out.push(b);
        else if (!overflowed) {
          overflowed = true;
          child.kill('SIGTERM');
        }
      });
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new SlurmCommandError(command, e.message, undefined));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0 && !overflowed) return resolve(stdout);
        // Killed at our timeout: the controller did not answer (sbatch may still have been
        // retrying on its own), which is a refusal for now, like its own timeouts.
        const why = timedOut
          ? `${stderr}${stderr.endsWith('\n') || !stderr ? '' : '\n'}no answer within ${timeoutMs / 1000} s`
          : overflowed
            ? `printed more than ${MAX_OUTPUT_BYTES >> 20} MiB`
            : stderr || `Command failed: ${file} ${args.join(' ')} (${signal ?? `exit ${code}`})`;
        reject(new SlurmCommandError(command, why, code ?? undefined));
      });
      // A tool that exits without reading its input (a refusal) breaks the pipe: its exit says why.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    });
  }

  /** `sbatch --parsable`; the script goes in on stdin. Resolves with the Slurm job id. */
  async submit(args: readonly string[], script: string): Promise<number> {
    const out = await this.run('sbatch', ['--parsable', ...args], script);
    const id = Number(out.trim().split(';')[0]);
    if (!Number.isInteger(id)) throw new SlurmCommandError('sbatch', `unexpected reply: ${out.trim()}`, 0);
    return id;
  }

  /** Every job the controller still keeps (pending, running and recently finished). */
  async jobs(): Promise<SlurmJob[]> {
    const out = await this.run('squeue', ['--json']);
    // The schemas of squeue's and sinfo's JSON (zod, a hundred modules) load at the first reply:
    // every `toil run` loads this client with the batch systems, few ask Slurm anything.
    const { parseSqueueJson } = await import('./json.js');
    return parseSqueueJson(out);
  }

  /** Every node, including drained, down and cloud ones. */
  async nodes(): Promise<SlurmNode[]> {
    const out = await this.run('sinfo', ['--json', '--all']);
    const { parseSinfoJson } = await import('./json.js');
    return parseSinfoJson(out);
  }

  async cancel(jobId: number): Promise<void> {
    await this.run('scancel', [String(jobId)]);
  }

  /** The names of the cluster's partitions (`scontrol show partition --oneliner`). */
  async partitions(): Promise<string[]> {
    const out = await this.run('scontrol', ['show', 'partition', '--oneliner']);
    return [...out.matchAll(/^PartitionName=(\S+)/gm)].map((m) => m[1]!);
  }

  /** `scontrol ping`: resolves when the controller answers. */
  async ping(): Promise<void> {
    const out = await this.run('scontrol', ['ping']);
    if (!/is UP/.test(out)) throw new SlurmCommandError('scontrol ping', out, 0);
  }

  /**
   * Registers a node that will join when its slurmd starts. State=FUTURE, not CLOUD: a CLOUD
   * node is "powered down", and a job placed on it waits ~30 s in CONFIGURING after its slurmd
   * registers; a FUTURE node is invisible to the scheduler until its slurmd registers, then idle.
   */
  async createNode(spec: SlurmNodeSpec): Promise<void> {
    await this.run('scontrol', [
      'create',
      `NodeName=${spec.name}`,
      `NodeAddr=${spec.address}`,
      `NodeHostname=${spec.hostname ?? spec.name}`,
      `CPUs=${spec.cpus}`,
      `RealMemory=${spec.memoryMb}`,
      `TmpDisk=${spec.tmpDiskMb}`,
      ...(spec.features.length > 0 ? [`Feature=${spec.features.join(',')}`] : []),
      ...(spec.weight !== undefined ? [`Weight=${spec.weight}`] : []),
      'State=FUTURE',
    ]);
  }

  /** No new job lands on the node; running ones finish (DRAINING → DRAINED). */
  async drainNode(name: string, reason: string): Promise<void> {
    await this.run('scontrol', ['update', `NodeName=${name}`, 'State=DRAIN', `Reason=${reason}`]);
  }

  /** Takes a drain back. */
  async resumeNode(name: string): Promise<void> {
    await this.run('scontrol', ['update', `NodeName=${name}`, 'State=RESUME']);
  }

  /** The node is gone: its jobs end at once as NODE_FAIL. */
  async downNode(name: string, reason: string): Promise<void> {
    await this.run('scontrol', ['update', `NodeName=${name}`, 'State=DOWN', `Reason=${reason}`]);
  }

  /** Removes the node (refused while a job runs there). */
  async deleteNode(name: string): Promise<void> {
    await this.run('scontrol', ['delete', `NodeName=${name}`]);
  }

  /**
   * Sets pending jobs' excluded nodes (none clears them), all in one call. Slurm refuses it for a
   * job that has started ("Job is no longer pending execution for job N"), so a running job is
   * never touched; the others in the call are still updated, and the error names each refused job.
   */
  async setJobExcludedNodes(jobIds: readonly number[], nodes: readonly string[]): Promise<void> {
    await this.run('scontrol', ['update', `JobId=${jobIds.join(',')}`, `ExcNodeList=${nodes.join(',')}`]);
  }

  /** Changes a pending job's feature constraint ('' clears it). */
  async setJobFeatures(jobId: number, features: string): Promise<void> {
    await this.run('scontrol', ['update', `JobId=${jobId}`, `Features=${features}`]);
  }
}
